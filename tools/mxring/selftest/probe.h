// One probing SMTP connection for `mxring selftest`: blocking socket I/O with deadlines,
// replies parsed as they arrive, and STARTTLS through the bench's memory-based TLS client.
// Bytes go out exactly as given, in one write each: the probes depend on what shares a
// segment.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mxring/bench/client_tls.h"
#include "mxring/bench/reply_reader.h"

namespace mxring::tools::selftest {

using bench::Reply;
using Clock = std::chrono::steady_clock;

class Probe {
 public:
  // Connects to host:port (numeric address; no DNS). Null with `error` set on failure.
  static std::unique_ptr<Probe> open(const std::string& host, std::uint16_t port,
                                     std::string& error);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  bool send(std::string_view bytes);
  // The next reply, waiting up to `timeout`; nothing on timeout or once the server closed.
  std::optional<Reply> reply(std::chrono::milliseconds timeout);
  // Every reply that arrives within `window` (stops early when the server closes).
  std::vector<Reply> replies_within(std::chrono::milliseconds window);
  bool closed() const { return closed_; }

  // After the server's 220 to STARTTLS: the handshake; false (and why) on failure.
  bool start_tls(std::string& error);

 private:
  explicit Probe(int fd) : fd_(fd) {}
  bool fill(Clock::time_point deadline);  // reads once; false on timeout or close

  int fd_;
  bool closed_ = false;
  bench::ReplyReader reader_;
  std::vector<Reply> ready_;
  std::size_t next_ = 0;
  void* tls_context_ = nullptr;
  std::unique_ptr<bench::ClientTls> tls_;
};

}  // namespace mxring::tools::selftest
