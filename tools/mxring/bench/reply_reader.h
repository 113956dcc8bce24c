// SMTP replies (RFC 5321 §4.2) out of a byte stream: multi-line replies are joined, and each
// complete reply comes out once with its code, its lines and whether it was well formed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mxring::tools::bench {

struct Reply {
  int code = 0;      // 0 when the reply was not well formed
  std::string text;  // every line, CRLF-separated, without the final CRLF
};

// A reply whose text lives in the reader: valid until its next feed() or reset().
struct ReplyView {
  int code = 0;
  std::string_view text;
  std::string_view first_line() const { return text.substr(0, text.find("\r\n")); }
};

class ReplyReader {
 public:
  // Appends `bytes`; complete replies go to `out`.
  void feed(std::string_view bytes, std::vector<Reply>& out);
  // The same without a copy of each reply: what the load generator reads every message by.
  void feed(std::string_view bytes, std::vector<ReplyView>& out);
  // Forgets what is not yet a whole reply (plaintext behind STARTTLS's 220, RFC 3207 §4.2;
  // a closed connection's last bytes). Replies already handed out stay valid.
  void reset() { pending_.resize(consumed_); }

 private:
  std::string pending_;       // the replies last handed out, then what is not yet a whole reply
  std::size_t consumed_ = 0;  // octets of pending_ handed out as replies
};

}  // namespace mxring::tools::bench
