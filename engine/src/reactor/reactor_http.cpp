// The metrics listener's connections: /metrics, /healthz and /readyz over HTTP/1.x, one
// request a connection, served by the first reactor's loop like any other socket.
#include <unistd.h>

#include <algorithm>

#include "reactor.h"
#include "reactor_connection.h"

namespace mxring::engine {

namespace {

// Scrapers come one or a few at a time. Without a cap, idle connections to the metrics
// port (each kept up to 10 s) could take every file descriptor the SMTP listeners need.
constexpr std::uint32_t kMaxHttpConnections = 64;

}  // namespace

// The metrics listener: one HTTP/1.x request per connection, answered from memory and
// closed. It never touches the SMTP limits, and a slow or silent peer is dropped at the
// command timeout like any other; past kMaxHttpConnections open at once, a new one is
// closed at once.
void Reactor::open_http(int fd) {
  if (http_live_ >= kMaxHttpConnections) {
    ::close(fd);  // nothing of io_uring's holds it yet
    return;
  }
  auto& c = take_slot(fd);
  c.listener = metrics_listener_;
  c.deadline = deadline_after(std::min(std::chrono::seconds(10), config_.command_timeout));
  timers_->schedule(c.key(), c.deadline);
  ++live_;
  ++http_live_;
  arm_recv(c);
}

void Reactor::read_http_request(Connection& c, std::span<const char> bytes) {
  if (c.http_answered) return;
  c.proxy_bytes.append(bytes.data(), bytes.size());
  constexpr std::size_t kMaxRequest = 8192;
  // The header ends at an empty line. RFC 9112 §2.2 lets a recipient take a lone LF for a
  // line end: probes written as printf 'GET /healthz HTTP/1.0\n\n' were held to the timeout.
  const std::string_view request(c.proxy_bytes);
  const auto end = std::min(request.find("\r\n\r\n"), request.find("\n\n"));
  if (end == std::string::npos && c.proxy_bytes.size() < kMaxRequest) return;
  std::string_view status = "200 OK", type = "text/plain; charset=utf-8", body;
  std::string page;
  auto line = request.substr(0, request.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  const auto target_start = line.find(' ') + 1;
  const auto target = line.substr(target_start, line.find(' ', target_start) - target_start);
  const auto path = target.substr(0, target.find('?'));
  if (end == std::string::npos) {
    status = "431 Request Header Fields Too Large";
  } else if (!line.starts_with("GET ") && !line.starts_with("HEAD ")) {
    status = "405 Method Not Allowed";
  } else if (path == "/metrics") {
    page = metrics_page_->page();
    type = "text/plain; version=0.0.4; charset=utf-8";
    body = page;
  } else if (path == "/healthz") {
    body = "ok\n";
  } else if (path == "/readyz") {
    const bool ready = metrics_page_->ready(draining_);
    status = ready ? "200 OK" : "503 Service Unavailable";
    body = ready ? "ready\n" : "not ready\n";
  } else {
    status = "404 Not Found";
  }
  std::string response =
      "HTTP/1.1 " + std::string(status) + "\r\nContent-Type: " + std::string(type) +
      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!line.starts_with("HEAD ")) response += body;
  c.proxy_bytes = {};
  c.http_answered = true;
  c.send_buffer.clear();
  c.send_buffer.append(response);
  c.send_offset = 0;
  submit_send(c);
}

}  // namespace mxring::engine
