#include "in_process_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <utility>

#include "mxring/engine/address_range.h"
#include "mxring/engine/tls_certificates.h"

namespace mxring::testing {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

}  // namespace

std::uint16_t free_loopback_port(int& probe) {
  probe = socket(AF_INET, SOCK_STREAM, 0);
  auto address = loopback(0);
  socklen_t length = sizeof address;
  std::uint16_t port = 0;
  if (bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  return port;
}

std::unique_ptr<InProcessServer> InProcessServer::start(const InProcessOptions& options,
                                                        std::string& error) {
  std::unique_ptr<InProcessServer> self(new InProcessServer);
  engine::ServerConfig config;
  config.threads = options.threads;
  config.pin_threads = false;
  config.spool = options.spool;
  config.receive_buffers = 256;
  bool any_tls = false;
  for (const auto& l : options.listeners) any_tls |= l.starttls;
  if (any_tls) {
    engine::TlsOptions tls;
    tls.certificates.push_back(
        {options.tls_directory + "/mx-ecdsa.pem", options.tls_directory + "/mx-ecdsa.key"});
    config.tls = engine::TlsCertificates::load(tls, error);
    if (!config.tls) return nullptr;
    self->runtime_.tls = config.tls;
  }
  config.proxy_trusted.push_back(*engine::AddressRange::parse("127.0.0.1/32"));
  // Every probe stays bound until all ports are chosen: a port given back at once could be
  // handed out again, and the server would find one listener given twice.
  std::vector<int> probes;
  const auto free_port = [&] {
    probes.push_back(-1);
    return free_loopback_port(probes.back());
  };
  for (const auto& l : options.listeners) {
    engine::SessionConfig session;
    session.host_name = "mx.test";
    session.role = l.role;
    session.durability = l.durability;
    session.limits = options.limits;
    session.starttls_available = l.starttls && l.role != engine::ListenerRole::smtps;
    auto context = engine::SessionContext::make(std::move(session));
    self->ports_.push_back(free_port());
    config.listeners.push_back({.address = "127.0.0.1",
                                .port = self->ports_.back(),
                                .role = l.role,
                                .context = context,
                                .proxy = l.proxy});
    self->runtime_.contexts.push_back(context);
  }
  if (options.metrics) {
    self->metrics_port_ = free_port();
    config.metrics_address = "127.0.0.1";
    config.metrics_port = self->metrics_port_;
  }
  for (const int probe : probes) close(probe);
  self->server_ = engine::Server::start(std::move(config), error);
  if (!self->server_) return nullptr;
  return self;
}

InProcessServer::~InProcessServer() {
  if (!server_) return;
  server_->shutdown();
  server_->wait();
}

bool InProcessServer::reload(std::string& error) {
  return server_->reload(runtime_, error);
}

int connect_loopback(std::uint16_t port, int timeout_ms) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto address = loopback(port);
  const timeval timeout{.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return fd;
  // A signal (libFuzzer's timeout alarm) interrupts connect, not the connection: it goes on,
  // and is done when the socket becomes writable.
  int error = errno;
  if (error == EINTR) {
    pollfd writable{.fd = fd, .events = POLLOUT, .revents = 0};
    int ready;
    while ((ready = poll(&writable, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    socklen_t length = sizeof error;
    error = ETIMEDOUT;
    if (ready == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  }
  if (error == 0) return fd;
  close(fd);
  errno = error;
  return -1;
}

int InProcessServer::connect(std::size_t index, int timeout_ms) const {
  return connect_loopback(ports_.at(index), timeout_ms);
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string read_reply(int fd, std::string& buffered) {
  for (;;) {
    // A whole reply ends with a line whose fourth octet is a space (RFC 5321 §4.2.1).
    for (std::size_t start = 0, end; (end = buffered.find("\r\n", start)) != std::string::npos;
         start = end + 2) {
      if (end - start >= 4 && buffered[start + 3] == ' ') {
        std::string reply = buffered.substr(0, end + 2);
        buffered.erase(0, end + 2);
        return reply;
      }
    }
    char chunk[4096];
    const auto n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::exchange(buffered, {});
    buffered.append(chunk, static_cast<std::size_t>(n));
  }
}

bool read_until_close(int fd, std::string& out) {
  char chunk[4096];
  for (;;) {
    const auto n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;  // a reset is a close too; a timeout is not
    out.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace mxring::testing
