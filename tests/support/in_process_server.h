// mxring's whole server inside a test process: real reactor threads with io_uring sockets on
// loopback, storage writers, the metrics listener. For what needs every thread at once: the
// ThreadSanitizer run over the server and the whole-server fuzz target.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mxring/engine/server.h"

namespace mxring::testing {

struct InProcessListener {
  engine::ListenerRole role = engine::ListenerRole::smtp;
  engine::Durability durability = engine::Durability::discard;
  bool proxy = false;     // PROXY protocol first; 127.0.0.1 is the trusted balancer
  bool starttls = false;  // offer STARTTLS with the test certificate (tests/data/tls)
};

struct InProcessOptions {
  std::vector<InProcessListener> listeners;
  unsigned threads = 2;
  std::string spool;  // for fsync and none listeners
  bool metrics = false;
  std::string tls_directory;  // holds mx-ecdsa.pem/.key; needed by starttls listeners
  engine::SessionLimits limits;
};

class InProcessServer {
 public:
  // Null with `error` set when the server does not start.
  static std::unique_ptr<InProcessServer> start(const InProcessOptions& options,
                                                std::string& error);
  ~InProcessServer();  // shutdown() and wait()

  // A blocking socket connected to listener `index` (-1 on failure), with a receive timeout.
  int connect(std::size_t index, int timeout_ms = 10'000) const;
  std::uint16_t metrics_port() const { return metrics_port_; }
  engine::Server& server() { return *server_; }
  // SIGHUP's path: the same runtime configuration handed over again.
  bool reload(std::string& error);
  const engine::RuntimeConfig& runtime() const { return runtime_; }

 private:
  InProcessServer() = default;
  std::unique_ptr<engine::Server> server_;
  engine::RuntimeConfig runtime_;
  std::vector<std::uint16_t> ports_;
  std::uint16_t metrics_port_ = 0;
};

// A loopback port nothing listens on now, held bound by `probe` until the caller closes it
// (so that the next call gets another port).
std::uint16_t free_loopback_port(int& probe);

// A blocking socket connected to 127.0.0.1:port (-1 on failure), with send and receive
// timeouts.
int connect_loopback(std::uint16_t port, int timeout_ms = 10'000);

// Blocking SMTP client pieces.
bool send_all(int fd, std::string_view bytes);
// The next whole reply (every line, last one "ddd "), or what came before EOF or a timeout.
std::string read_reply(int fd, std::string& buffered);
// Everything until the server closes (or the receive timeout): false on a timeout.
bool read_until_close(int fd, std::string& out);

}  // namespace mxring::testing
