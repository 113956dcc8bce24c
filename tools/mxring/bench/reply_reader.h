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

class ReplyReader {
 public:
  // Appends `bytes`; complete replies go to `out`.
  void feed(std::string_view bytes, std::vector<Reply>& out);
  void reset() { pending_.clear(); }

 private:
  std::string pending_;  // an incomplete line or an unfinished multi-line reply
};

}  // namespace mxring::tools::bench
