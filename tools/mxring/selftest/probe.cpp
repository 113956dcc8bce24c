#include "probe.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mxring/engine/socket_address.h"

namespace mxring::tools::selftest {

std::unique_ptr<Probe> Probe::open(const std::string& host, std::uint16_t port,
                                   std::string& error) {
  const auto address = engine::socket_address(host, port);
  if (!address) {
    error = host + ": not a numeric address";
    return nullptr;
  }
  const int fd = socket(address->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, address->get(), address->length) != 0) {
    error = "connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    if (fd >= 0) close(fd);
    return nullptr;
  }
  const int one = 1;  // each probe write leaves at once, as one segment where it fits
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return std::unique_ptr<Probe>(new Probe(fd));
}

Probe::~Probe() {
  tls_.reset();
  if (tls_context_ != nullptr) bench::ClientTls::free_context(tls_context_);
  close(fd_);
}

bool Probe::send(std::string_view bytes) {
  std::string ciphertext;
  if (tls_) {
    if (!tls_->send(bytes)) return false;
    ciphertext.swap(tls_->outgoing());
    bytes = ciphertext;
  }
  while (!bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool Probe::fill(Clock::time_point deadline) {
  if (closed_) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buffer[16384];
  const auto n = recv(fd_, buffer, sizeof buffer, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  std::string_view bytes(buffer, static_cast<std::size_t>(n));
  std::string plaintext;
  if (tls_) {
    if (!tls_->receive(bytes, plaintext)) {
      closed_ = true;
      return false;
    }
    bytes = plaintext;
  }
  reader_.feed(bytes, ready_);
  return true;
}

std::optional<Reply> Probe::reply(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (next_ == ready_.size())
    if (!fill(deadline)) return std::nullopt;
  return ready_[next_++];
}

std::vector<Reply> Probe::replies_within(std::chrono::milliseconds window) {
  const auto deadline = Clock::now() + window;
  while (fill(deadline)) {
  }
  std::vector<Reply> out(ready_.begin() + static_cast<std::ptrdiff_t>(next_), ready_.end());
  next_ = ready_.size();
  return out;
}

bool Probe::start_tls(std::string& error) {
  tls_context_ = bench::ClientTls::new_context();
  if (tls_context_ == nullptr) {
    error = "no TLS context";
    return false;
  }
  auto tls = std::make_unique<bench::ClientTls>(tls_context_);
  std::string plaintext;
  tls->receive({}, plaintext);  // the ClientHello
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!tls->established()) {
    if (!tls->outgoing().empty()) {
      std::string out;
      out.swap(tls->outgoing());
      if (::send(fd_, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
        error = "send failed during the handshake";
        return false;
      }
    }
    if (tls->established()) break;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd_, POLLIN, 0};
    char buffer[16384];
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      error = "TLS handshake timed out";
      return false;
    }
    const auto n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0 || !tls->receive({buffer, static_cast<std::size_t>(n)}, plaintext)) {
      error = "TLS handshake failed: " + tls->failure();
      return false;
    }
    // Anything decrypted here came before we said a word inside TLS.
    if (!plaintext.empty()) reader_.feed(plaintext, ready_);
  }
  if (!tls->outgoing().empty()) {
    std::string out;
    out.swap(tls->outgoing());
    ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
  }
  tls_ = std::move(tls);
  return true;
}

}  // namespace mxring::tools::selftest
