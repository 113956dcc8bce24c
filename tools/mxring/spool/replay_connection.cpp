#include "replay_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace mxring::tools::spool {

std::string ReplayConnection::open() {
  quit();
  fd_ = socket(target_.socket.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return std::string("socket: ") + std::strerror(errno);
  // RFC 5321 §4.5.3.2: a client waits 5 minutes for a reply at most (10 for the end of
  // data); a server that stops reading holds a send as long.
  const timeval timeout{300, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd_, target_.socket.get(), target_.socket.length) != 0) {
    const std::string why = std::strerror(errno);
    drop();
    return "cannot connect to " + target_.address + ":" + std::to_string(target_.port) + ": " + why;
  }
  const auto banner = reply();
  if (banner.code == 220) send("EHLO " + helo_ + "\r\n");
  const auto ehlo = banner.code == 220 ? reply() : bench::Reply{};
  if (ehlo.code != 250) {
    drop();
    return "the server said: " + banner.text + (ehlo.text.empty() ? "" : " / " + ehlo.text);
  }
  offer_ = read_ehlo_offer(ehlo.text);
  transactions_ = 0;
  return {};
}

void ReplayConnection::quit() {
  if (fd_ < 0) return;
  if (send("QUIT\r\n")) reply();
  drop();
}

void ReplayConnection::drop() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  reader_.reset();
  replies_.clear();
}

bool ReplayConnection::send(std::string_view bytes) {
  while (fd_ >= 0 && !bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) drop();
    if (n > 0) bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return fd_ >= 0;
}

bench::Reply ReplayConnection::reply() {
  char buffer[4096];
  while (replies_.empty()) {
    if (fd_ < 0) return {};
    const auto n = recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      drop();
      return {};
    }
    std::vector<bench::Reply> got;
    reader_.feed(std::string_view(buffer, static_cast<std::size_t>(n)), got);
    for (auto& r : got) replies_.push_back(std::move(r));
  }
  auto next = std::move(replies_.front());
  replies_.pop_front();
  return next;
}

}  // namespace mxring::tools::spool
