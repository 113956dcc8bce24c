// --ack-log: one line per acknowledged message, "QUEUE-ID SHA256-OF-WHAT-WAS-SENT", so a
// durability check can find every acknowledged message in the spool after a crash.
#pragma once

#include <fstream>
#include <string>
#include <string_view>

namespace mxring::tools::bench {

class AckLog {
 public:
  // False with `error` set when `path` cannot be written.
  bool open(const std::string& path, std::string& error);
  bool is_open() const { return out_.is_open(); }

  // `reply` is the first line of the 250; the message is `header` then `message`.
  void record(std::string_view reply, std::string_view header, std::string_view message);

 private:
  std::ofstream out_;
};

// The queue id in "250 2.0.0 Ok: queued as ID ..." (mxring, Postfix), else the reply's last word.
std::string_view queue_id_of(std::string_view reply);

}  // namespace mxring::tools::bench
