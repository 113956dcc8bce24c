// The load generator's connections: sockets and their io_uring connect, send and multishot
// receive, TLS over them, and what a failed or finished connection becomes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bench_state.h"

namespace mxring::tools::bench {

void BenchClient::State::open_connection(Connection& c) {
  const auto& target = options.targets[c.index % options.targets.size()];
  c.peer = target.socket.storage;  // the connect SQE points here until it completes
  const bool v6 = target.socket.family() == AF_INET6;
  c.fd = ::socket(target.socket.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {  // out of descriptors or buffers: a failure like any other, retried later
    fail(c, "socket", std::string("socket: ") + std::strerror(errno));
    return;
  }
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (options.spread_sources && !v6 && target.address.starts_with("127.")) {
    // Many connections to one loopback port need many source addresses (ports run out).
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(0x7f000001u + c.index % 254);
    bind(c.fd, reinterpret_cast<sockaddr*>(&source), sizeof source);
  }
  ++open;
  ++stats->connections_opened;
  c.stage = Stage::connecting;
  c.connect_ns = c.heard_ns = now;
  c.messages = 0;
  auto* e = sqe();
  io_uring_prep_connect(e, c.fd, reinterpret_cast<sockaddr*>(&c.peer), target.socket.length);
  io_uring_sqe_set_data64(e, tag(Op::connect, c));
}

void BenchClient::State::close(Connection& c) {
  if (c.fd < 0) return;
  ::shutdown(c.fd, SHUT_RDWR);  // completes an armed recv (with 0)
  ::close(c.fd);
  c.fd = -1;
  ++c.generation;
  --open;
  c.stage = Stage::closed;
  c.expects.clear();
  c.reader.reset();
  c.out.clear();
  c.in_flight.clear();
  c.sending = false;
  c.recv_armed = false;
  c.tx.reset();
  c.next_tx.reset();
  c.tls.reset();
}

void BenchClient::State::fail(Connection& c, std::string_view kind, std::string_view example) {
  stats->error(kind, example);
  close(c);
  // A server that refuses everything must not keep the run going forever; one that never
  // greeted anybody (nothing listens there, a wrong port) ends it after three tries a
  // connection, a tenth of a second, instead of after a thousand.
  ++failures_in_a_row;
  const bool never_greeted = stats->latency[static_cast<std::size_t>(Phase::banner)].count() == 0;
  if (failures_in_a_row > 1000 + 10ull * connections.size() ||
      (never_greeted && failures_in_a_row >= 3ull * connections.size()))
    stopping = true;
  if (may_start()) reconnect.push_back(c.index);
}

void BenchClient::State::finish_connection(Connection& c) {
  close(c);
  if (may_start()) open_connection(c);
}

void BenchClient::State::queue(Connection& c, std::initializer_list<std::string_view> parts,
                               Phase phase) {
  if (c.tls && c.tls->established()) {
    std::string_view bytes = *parts.begin();
    if (parts.size() > 1) {
      scratch.clear();
      for (const auto part : parts) scratch += part;
      bytes = scratch;
    }
    if (!c.tls->send(bytes)) return fail(c, "TLS", "TLS: " + c.tls->failure());
  } else {
    for (const auto part : parts) c.out.append(part);
  }
  c.expects.push_back({phase, now});
}

void BenchClient::State::flush(Connection& c) {
  if (c.sending || c.fd < 0) return;
  auto& source = c.tls ? c.tls->outgoing() : c.out;
  if (source.empty()) return;
  std::swap(c.in_flight, source);
  source.clear();
  c.in_flight_offset = 0;
  submit_send(c);
}

void BenchClient::State::submit_send(Connection& c) {
  auto* e = sqe();
  io_uring_prep_send(e, c.fd, c.in_flight.data() + c.in_flight_offset,
                     c.in_flight.size() - c.in_flight_offset, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(e, tag(Op::send, c));
  c.sending = true;
}

void BenchClient::State::arm_recv(Connection& c) {
  if (c.recv_armed) return;
  auto* e = sqe();
  io_uring_prep_recv_multishot(e, c.fd, nullptr, 0, 0);
  e->flags |= IOSQE_BUFFER_SELECT;
  e->buf_group = receive_buffers->group();
  io_uring_sqe_set_data64(e, tag(Op::recv, c));
  c.recv_armed = true;
}

void BenchClient::State::on_connect(Connection& c, int res) {
  if (res < 0) return fail(c, "connect", std::string("connect: ") + std::strerror(-res));
  c.heard_ns = now;
  c.stage = Stage::greeting;
  c.expects.push_back({Phase::banner, c.connect_ns});
  if (options.implicit_tls) start_tls(c);
  arm_recv(c);
  flush(c);
}

void BenchClient::State::start_tls(Connection& c) {
  c.tls = std::make_unique<ClientTls>(tls_context);
  c.tls_started_ns = now;
  if (c.stage != Stage::greeting) c.stage = Stage::tls;  // implicit TLS greets afterwards
  std::string ignored;
  if (!c.tls->receive({}, ignored)) return fail(c, "TLS", "TLS: " + c.tls->failure());
}

void BenchClient::State::on_send(Connection& c, int res) {
  c.sending = false;
  if (res < 0) return fail(c, "send", std::string("send: ") + std::strerror(-res));
  c.heard_ns = now;
  c.in_flight_offset += static_cast<std::size_t>(res);
  if (c.in_flight_offset < c.in_flight.size()) return submit_send(c);
  c.in_flight.clear();
  flush(c);
}

void BenchClient::State::on_recv(Connection& c, int res, std::string_view bytes) {
  if (res == -ENOBUFS) return arm_recv(c);  // every buffer was in use: armed again
  if (res == 0) {
    if (c.stage == Stage::quitting && c.expects.empty()) return finish_connection(c);
    return fail(c, "closed", "the server closed the connection");
  }
  if (res < 0) return fail(c, "recv", std::string("recv: ") + std::strerror(-res));
  c.heard_ns = now;
  replies.clear();
  if (c.tls) {
    std::string& plain = tls_scratch;
    plain.clear();
    if (!c.tls->receive(bytes, plain)) return fail(c, "TLS", "TLS: " + c.tls->failure());
    if (c.tls->just_established()) on_tls_established(c);
    if (c.fd < 0) return;
    c.reader.feed(plain, replies);
  } else {
    c.reader.feed(bytes, replies);
  }
  const auto generation = c.generation;
  for (auto& reply : replies) {
    if (c.generation != generation) return;  // closed while handling an earlier reply
    on_reply(c, reply);
  }
  if (c.fd < 0 || c.generation != generation) return;
  arm_recv(c);
  flush(c);
}

void BenchClient::State::on_tls_established(Connection& c) {
  record(Phase::starttls, c.tls_started_ns);
  if (c.stage == Stage::greeting) return;  // implicit TLS: the banner comes next, encrypted
  // RFC 3207 §4.2: everything learned before TLS is forgotten; EHLO again.
  queue(c, "EHLO " + options.helo + "\r\n", Phase::ehlo);
  c.stage = Stage::hello;
}

}  // namespace mxring::tools::bench
