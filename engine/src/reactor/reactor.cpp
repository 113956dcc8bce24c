// The reactor's event loop: accept, receive, drive sessions, send, time out, close. The
// completion handling follows the table in completion_rules.h; storage, TLS, the metrics
// listener and the mailbox other threads post to have files of their own (reactor_*.cpp).
#include "reactor.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <span>

#include "cancel_then_close.h"
#include "clock.h"
#include "completion_rules.h"
#include "listener_socket.h"
#include "mxring/engine/log.h"
#include "mxring/parser/proxy_header.h"
#include "proxy_client.h"
#include "reactor_connection.h"
#include "session/replies.h"
#include "thread_name.h"
#include "tls/tls_stream.h"

namespace mxring::engine {
namespace {

// Input kept for a session that cannot take it yet, above which the reactor stops reading
// that connection until the session catches up (TCP back-pressure does the rest).
constexpr std::size_t kBacklogLimit = 256 * 1024;
constexpr std::size_t kIdleSendCapacity = 1024;

// The upper bound, in µs, of the bucket holding the p-th fraction of `buckets` (bucket b
// holds latencies below 2^b µs).
std::uint64_t percentile_us(const Log2Histogram& histogram, double p) {
  std::uint64_t total = 0;
  for (const auto& n : histogram.buckets) total += n.get();
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < histogram.buckets.size(); ++b) {
    seen += histogram.buckets[b].get();
    if (total > 0 && static_cast<double>(seen) >= p * static_cast<double>(total))
      return std::uint64_t{1} << b;
  }
  return 0;
}

std::int64_t monotonic_seconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec;
}

// One listening socket of one reactor; the kernel spreads connections over the reactors'
// sockets by hash (SO_REUSEPORT). An inherited socket is shared: each reactor accepts on a
// duplicate of its own, so that closing it when draining leaves the socket (and the
// connections waiting in its backlog) to the service manager and the next mxringd.
int open_listener(const ListenerConfig& listener, std::string& error) {
  if (listener.inherited_fd >= 0) {
    const int fd = fcntl(listener.inherited_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) error = std::string("dup of an inherited socket: ") + std::strerror(errno);
    return fd;
  }
  const int fd = bind_listener(listener, true, error);
  if (fd >= 0 && listen(fd, 4096) != 0) {
    error = "listen on " + listener.address + ":" + std::to_string(listener.port) + ": " +
            std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

Reactor::Reactor(unsigned index, int cpu, const ServerConfig& config, ConnectionLimiter& limiter,
                 RuntimeConfig runtime, std::shared_ptr<const tls::TicketKeys> tickets,
                 StorageChannel* storage, AuthVerifier* auth, ContentBudget* content_budget,
                 StoreSpace* space, RateExchange* rate_exchange, const ServerMetrics* metrics_page)
    : index_(index),
      cpu_(cpu),
      config_(config),
      limiter_(limiter),
      runtime_(std::move(runtime)),
      tickets_(std::move(tickets)),
      queue_ids_(0, config.node_id, static_cast<std::uint16_t>(index)),
      storage_(storage),
      auth_(auth),
      content_budget_(content_budget),
      space_(space),
      rate_limiter_(runtime_.rate_limits, index, rate_exchange, &metrics_.rate_limit_untracked),
      metrics_page_(metrics_page) {}

Reactor::~Reactor() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

std::int64_t Reactor::now_us() {
  return turn_unix_us_ > 0 ? turn_unix_us_ : unix_us();  // read once a loop turn
}

void Reactor::run(const std::function<void(const std::string& error)>& ready) {
  name_this_thread("reactor", static_cast<int>(index_));
  const auto error = set_up();
  ready(error);
  if (!error.empty()) {
    tear_down();
    return;
  }
  loop();
  tear_down();
  tls::release_thread_state();
  log(Level::info,
      "reactor stopped: reactor=" + std::to_string(index_) +
          " accepted=" + std::to_string(metrics_.accepted.get()) + " refused=" +
          std::to_string(metrics_.refused_limit.get() + metrics_.refused_untrusted_proxy.get()) +
          " messages=" + std::to_string(metrics_.messages_stored.get()) +
          " enobufs=" + std::to_string(metrics_.receive_buffers_exhausted.get()) +
          " tls_handshakes=" + std::to_string(metrics_.tls_handshakes.get()) +
          " tls_failures=" + std::to_string(metrics_.tls_failures.get()) +
          " store_latency_p50_us<=" + std::to_string(percentile_us(metrics_.store_latency, 0.5)) +
          " p99_us<=" + std::to_string(percentile_us(metrics_.store_latency, 0.99)));
}

std::string Reactor::set_up() {
  if (config_.pin_threads && cpu_ >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu_, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  queue_ids_ = QueueIdGenerator(static_cast<std::uint64_t>(now_us()), config_.node_id,
                                static_cast<std::uint16_t>(index_));
  std::string error;
  auto ring = Ring::create({}, error);  // here, on the thread that submits (SINGLE_ISSUER)
  if (!ring) return error;
  ring_.emplace(std::move(*ring));
  if (runtime_.tls) {
    tls_ = tls::TlsContexts::build(runtime_.tls, tickets_, error);
    if (!tls_) return error;
  }
  auto buffers = BufferRing::create(ring_->get(), 0, config_.receive_buffers,
                                    config_.receive_buffer_size, error);
  if (!buffers) return error;
  buffers_.emplace(std::move(*buffers));
  for (const auto& listener : config_.listeners) {
    const int fd = open_listener(listener, error);
    if (fd < 0) return error;
    listeners_.push_back(fd);
    listener_names_.push_back(listener.address + ":" + std::to_string(listener.port));
  }
  if (metrics_page_ != nullptr && config_.metrics_port != 0) {
    const int fd = open_listener({config_.metrics_address, config_.metrics_port, ListenerRole::smtp,
                                  nullptr, false, config_.metrics_inherited_fd},
                                 error);
    if (fd < 0) return error;
    metrics_listener_ = static_cast<unsigned>(listeners_.size());
    listeners_.push_back(fd);
    listener_names_.push_back(config_.metrics_address + ":" + std::to_string(config_.metrics_port));
  }
  accept_armed_.assign(listeners_.size(), false);
  accept_retry_.assign(listeners_.size(), false);
  if (config_.accept_at_start) arm_accepts();
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
  if (storage_ != nullptr) storage_->reactor_wake_fd = wake_fd_;
  arm_wake();
  now_ = monotonic_seconds();
  timers_.emplace(now_);
  io_uring_submit(ring_->get());
  return {};
}

void Reactor::tear_down() {
  for (const int fd : listeners_)
    if (fd >= 0) close(fd);
  listeners_.clear();
  for (auto& c : slots_)
    if (c && c->fd >= 0) close(c->fd);
  slots_.clear();
  buffers_.reset();
  ring_.reset();  // the eventfd stays open until the destructor: the verifier may still post
}

void Reactor::loop() {
  io_uring* ring = ring_->get();
  unsigned last_batch = 0;
  while (!(draining_ && live_ == 0 && unanswered_messages() == 0)) {
    metrics_.loop_turns.add();  // the heartbeat a service watchdog checks (idle: once a second)
    // Never block anywhere else. Idle: wait for one completion, waking once a second for the
    // timer wheel. Busy: wait for about as many completions as the last turn brought, for at
    // most batch_wait, so one wake-up serves many connections and their replies leave
    // together (with DEFER_TASKRUN the kernel does not wake us per completion). On this
    // 2-vCPU VM this halves server CPU per message under smtp-source load
    // (bench/e2e/RESULTS.md), at a cost of at most batch_wait in latency when busy.
    const long batch_wait_ns = static_cast<long>(config_.batch_wait.count()) * 1000;
    // Not while messages are with the writer: its answer is what those clients wait for,
    // and holding it back for batch_wait lengthens every group-commit cycle (fsync under
    // mxring bench: 35,000 msgs/s with the wait, 58,000 without; bench/e2e/RESULTS.md).
    const bool busy = batch_wait_ns > 0 && last_batch >= 4 && storing_ == 0;
    const unsigned want = busy ? std::min(last_batch, 64u) : 1;
    __kernel_timespec wait{.tv_sec = busy ? 0 : 1, .tv_nsec = busy ? batch_wait_ns : 0};
    io_uring_cqe* first = nullptr;
    const int rc = io_uring_submit_and_wait_timeout(ring, &first, want, &wait, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      log(Level::error, std::string("io_uring_submit_and_wait: ") + std::strerror(-rc));
      break;
    }
    turn_ns_ = monotonic_ns();
    now_ = turn_ns_ / 1'000'000'000;
    // Wall-clock time for this turn's envelopes and log lines: one clock read, not one each.
    turn_unix_us_ = unix_us();
    events_.set_clock(turn_unix_us_);
    rate_limiter_.take_peer_events(now_);
    unsigned head = 0, seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(ring, head, cqe) {
      on_completion(*cqe);
      ++seen;
    }
    io_uring_cq_advance(ring, seen);
    last_batch = seen;
    buffers_->publish();
    service_dirty();
    on_tick();
    publish_to_storage();
    events_.flush();
  }
}

void Reactor::on_completion(const io_uring_cqe& cqe) {
  const auto ud = UserData::unpack(cqe.user_data);
  switch (ud.op) {
    case Op::accept:
      on_accept(ud.slot, cqe.res, cqe.flags);
      return;
    case Op::wake:
      on_wake();
      return;
    case Op::cancel:
      return;
    default:
      break;
  }
  Connection* c = lookup(ud);
  if (c == nullptr) {
    // Stale: its connection is gone. A buffer it carries still goes back to the ring.
    if (carries_buffer(cqe.flags)) buffers_->recycle(buffer_id(cqe.flags));
    return;
  }
  switch (ud.op) {
    case Op::recv:
      on_recv(*c, cqe.res, cqe.flags);
      break;
    case Op::send:
      on_send(*c, cqe.res);
      break;
    case Op::close:
      c->close_pending = false;
      c->fd = -1;
      break;
    case Op::release:  // the error tarpit's sleep is over (-ETIME, its usual result)
      c->replies_held = false;
      mark_dirty(*c);
      break;
    default:
      break;
  }
  maybe_free(*c);
}

Reactor::Connection* Reactor::lookup(const UserData& ud) {
  if (ud.slot >= slots_.size() || !slots_[ud.slot]) return nullptr;
  auto& c = *slots_[ud.slot];
  return (c.generation & UserData::kGenerationMask) == ud.generation ? &c : nullptr;
}

void Reactor::on_accept(unsigned listener, int res, std::uint32_t flags) {
  const auto rule = accept_rule(res, flags);
  if (!(flags & IORING_CQE_F_MORE)) accept_armed_[listener] = false;
  switch (rule.action) {
    case AcceptAction::connection:
      open_connection(listener, res);
      if (rule.rearm && !draining_) arm_accept(listener);
      break;
    case AcceptAction::retry_later:
      if (rule.rearm) accept_retry_[listener] = true;  // e.g. out of fds: try on the next tick
      log(Level::warning, std::string("accept: ") + std::strerror(-res));
      break;
    case AcceptAction::listener_closed:
      break;
  }
}

// A free connection slot (or a new one) for socket `fd`.
Reactor::Connection& Reactor::take_slot(int fd) {
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(std::make_unique<Connection>());
    slots_.back()->slot = slot;
  }
  auto& c = *slots_[slot];
  c.fd = fd;
  return c;
}

bool Reactor::xclient_trusted(const sockaddr_storage& client) const {
  return std::any_of(config_.xclient_trusted.begin(), config_.xclient_trusted.end(),
                     [&](const AddressRange& r) { return r.contains(client); });
}

void Reactor::open_connection(unsigned listener, int fd) {
  if (listener == metrics_listener_) return open_http(fd);
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof peer;
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length);
  const auto peer_octets = mapped_octets(peer);
  const auto client = counted_client(peer_octets);
  const bool proxied = config_.listeners[listener].proxy;
  if (proxied && std::none_of(config_.proxy_trusted.begin(), config_.proxy_trusted.end(),
                              [&](const AddressRange& r) { return r.contains(peer); })) {
    // Only a trusted balancer may say who the client is (--proxy-trusted).
    std::uint16_t port = 0;
    log(Level::warning, "PROXY listener " + listener_names_[listener] + ": connection from " +
                            numeric_address(peer, port) + " refused (not a trusted proxy)");
    close(fd);
    metrics_.refused_untrusted_proxy.add();
    return;
  }
  // Shutting down (this reactor, or the server before this reactor has heard): no greeting,
  // the shutdown 421 at once (RFC 5321 §3.1). Behind a balancer, the per-client cap applies
  // to the client its header names.
  const auto admission = draining_ || limiter_.closed() ? Admission::shutting_down
                         : !proxied                     ? limiter_.admit(client)
                         : limiter_.admit_total()       ? Admission::admitted
                                                        : Admission::server_full;
  if (admission != Admission::admitted) {
    // A fresh socket's send buffer always takes one short line: this cannot block.
    constexpr std::string_view kServerFull = "421 4.7.0 Too many connections, try again later\r\n";
    constexpr std::string_view kClientFull =
        "421 4.7.0 Too many connections from your address, try again later\r\n";
    const std::string_view text = admission == Admission::shutting_down
                                      ? runtime_.contexts[listener]->shutdown_reply()
                                  : admission == Admission::server_full ? kServerFull
                                                                        : kClientFull;
    [[maybe_unused]] const auto sent =
        ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    std::uint16_t port = 0;
    if (admission == Admission::shutting_down) {
      log_refused_connection(numeric_address(peer, port), "shutting_down");
      return;
    }
    metrics_.refused_limit.add();
    log_refused_connection(numeric_address(peer, port), admission == Admission::server_full
                                                            ? "server_connection_limit"
                                                            : "client_connection_limit");
    return;
  }
  metrics_.accepted.add();
  auto& c = take_slot(fd);
  c.client = client;
  c.listener = listener;
  c.opened_ns = turn_ns_;
  ConnectionInfo info;
  info.client_address = numeric_address(peer, info.client_port);
  info.client_octets = peer_octets;
  info.xclient_trusted = xclient_trusted(peer);
  c.deadline = deadline_after(config_.command_timeout);
  timers_->schedule(c.key(), c.deadline);
  metrics_.open.set(++live_ - http_live_);
  if (proxied) {
    // No greeting yet: the balancer's header comes first (read_proxy_header).
    c.client_counted = false;
    c.proxy_bytes = info.client_address.find(':') == std::string::npos
                        ? info.client_address + ":" + std::to_string(info.client_port)
                        : "[" + info.client_address + "]:" + std::to_string(info.client_port);
    c.proxy_bytes += '\n';
  } else {
    start_session(c, std::move(info));
  }
  arm_recv(c);
}

void Reactor::start_session(Connection& c, ConnectionInfo info) {
  info.listener = listener_names_[c.listener];
  info.role = config_.listeners[c.listener].role;
  const auto role = info.role;
  c.session.emplace(runtime_.contexts[c.listener], static_cast<SessionServices&>(*this),
                    std::move(info));
  c.rate_refused = !admit_connection(c);
  if (role == ListenerRole::smtps) {
    // RFC 8314 §3.3: the handshake first; the greeting (or refusal) follows it, encrypted.
    if (!start_tls(c)) c.tls_failed = true;
  } else if (c.rate_refused) {
    c.session->refuse(replies::kConnectionRateExceeded);
  } else if (config_.greet_delay.count() > 0) {
    // The greeting waits; whatever the client sends meanwhile makes it an early talker. Until
    // it is sent, the connection's deadline is the greeting's.
    c.greeting_held = true;
    c.deadline = deadline_after(config_.greet_delay);
    timers_->schedule(c.key(), c.deadline);
  } else {
    c.session->greet();
  }
  c.phase = Session::Phase::command;
  mark_dirty(c);
}

// The first octets of a PROXY listener's connection: the balancer's header, then the
// client's own bytes. A malformed or oversized header closes the connection without a word
// (it did not come from a client that speaks SMTP to us).
void Reactor::read_proxy_header(Connection& c, std::span<const char> bytes) {
  const auto peer_end = c.proxy_bytes.find('\n') + 1;
  c.proxy_bytes.append(bytes.data(), bytes.size());
  const auto header = parser::parse_proxy_header(std::string_view(c.proxy_bytes).substr(peer_end));
  if (header.status == parser::ProxyStatus::need_more) return;
  ConnectionInfo info;
  ProxyInfo proxy;
  proxy.peer = c.proxy_bytes.substr(0, peer_end - 1);
  sockaddr_storage client{};
  socklen_t length = sizeof client;
  getpeername(c.fd, reinterpret_cast<sockaddr*>(&client), &length);
  if (header.status == parser::ProxyStatus::invalid || !proxied_client(header, client)) {
    log(Level::warning, "PROXY listener " + listener_names_[c.listener] +
                            ": malformed header from " + proxy.peer + "; closed");
    begin_close(c);
    return;
  }
  read_proxy_tlvs(header, proxy);
  info.proxy = std::make_shared<const ProxyInfo>(std::move(proxy));
  info.client_address = numeric_address(client, info.client_port);
  info.client_octets = mapped_octets(client);
  c.client = counted_client(info.client_octets);
  info.xclient_trusted = xclient_trusted(client);
  if (limiter_.admit_client(c.client) != Admission::admitted) {
    constexpr std::string_view kClientFull =
        "421 4.7.0 Too many connections from your address, try again later\r\n";
    [[maybe_unused]] const auto sent =
        ::send(c.fd, kClientFull.data(), kClientFull.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    begin_close(c);
    return;
  }
  c.client_counted = true;
  // What the client sent after the header, in a buffer with the parser's padding after it
  // (parser/padding.h: the scanners read whole 64-octet blocks).
  ByteBuffer rest;
  rest.append(std::string_view(c.proxy_bytes).substr(peer_end + header.length));
  c.proxy_bytes = {};
  start_session(c, std::move(info));
  if (!rest.empty()) c.tls ? feed_tls(c, rest.span()) : feed(c, rest.span());
}

void Reactor::on_recv(Connection& c, int res, std::uint32_t flags) {
  const auto rule = recv_rule(res, flags);
  if (!(flags & IORING_CQE_F_MORE)) c.recv_armed = false;
  switch (rule.action) {
    case RecvAction::deliver: {
      const auto id = buffer_id(flags);
      // The session (or wolfSSL) copies what it keeps, so the buffer goes back at once.
      const auto bytes = buffers_->received(id, static_cast<std::size_t>(res));
      if (c.listener != metrics_listener_) {
        metrics_.bytes_received.add(bytes.size());
        c.bytes_in += bytes.size();
        // Answer latency counts from the oldest unanswered command, or from the last octets
        // of a message (its end is what the final reply answers).
        if (c.input_ns == 0 || c.phase == Session::Phase::data) c.input_ns = turn_ns_;
      }
      if (c.closing) {
      } else if (c.listener == metrics_listener_) {
        read_http_request(c, bytes);
      } else if (!c.session) {
        read_proxy_header(c, bytes);
      } else {
        c.tls ? feed_tls(c, bytes) : feed(c, bytes);
      }
      buffers_->recycle(id);
      break;
    }
    case RecvAction::end_of_stream:
      c.peer_closed = true;
      if (c.tls) c.tls->peer_closed();
      mark_dirty(c);
      return;
    case RecvAction::replenish_and_rearm:
      metrics_.receive_buffers_exhausted.add();
      buffers_->publish();
      break;
    case RecvAction::cancelled:
      return;
    case RecvAction::close:
      begin_close(c);
      return;
  }
  if (rule.rearm && !c.closing && !c.recv_paused && !c.peer_closed) arm_recv(c);
}

void Reactor::feed(Connection& c, std::span<const char> bytes) {
  auto& session = *c.session;
  const bool was_in_data = c.phase == Session::Phase::data;
  const bool was_in_content = c.in_content;
  session.receive(bytes);
  // STARTTLS: from the next received byte on, everything is TLS (RFC 3207 §4.2). What was
  // pipelined behind the command in this batch the session has already discarded.
  if (session.wait() == Session::Wait::tls_handshake && !c.tls && !start_tls(c))
    c.tls_failed = true;
  note_phase(c);
  if (was_in_data && c.phase == Session::Phase::data)
    c.deadline = deadline_after(config_.data_timeout);
  if (was_in_content && c.in_content) {
    c.data_bytes += bytes.size();
    // Slowloris in DATA, or in BDAT chunks sent minutes apart: a long message must keep up
    // a minimum average rate from its content's start.
    const auto elapsed = now_ - c.data_started;
    if (config_.min_data_rate > 0 && elapsed > config_.min_rate_grace.count() &&
        c.data_bytes < static_cast<std::uint64_t>(elapsed) * config_.min_data_rate)
      session.timed_out();
  }
  mark_dirty(c);
}

// Follows the session into and out of DATA or a BDAT chunk (the data timeout), and of a
// message's content or a chunk read to be refused (the data rate counts from its start).
void Reactor::note_phase(Connection& c) {
  c.phase = c.session->phase();
  const bool in_content = c.phase == Session::Phase::data || c.session->receiving_content();
  if (in_content && !c.in_content) {
    c.data_started = now_;
    c.data_bytes = 0;
  }
  c.in_content = in_content;
}

void Reactor::on_send(Connection& c, int res) {
  c.send_in_flight = false;
  if (send_rule(res) == SendAction::close) {
    c.send_buffer.clear();
    begin_close(c);
    return;
  }
  c.send_offset += static_cast<std::size_t>(res);
  if (c.send_offset < c.send_buffer.size() && !c.closing) {
    submit_send(c);  // a short send: the rest, still one send in flight
    return;
  }
  c.send_buffer.clear();
  if (c.send_buffer.footprint() > kIdleSendCapacity) c.send_buffer.release();
  flush_tls(c);
  mark_dirty(c);
}

void Reactor::mark_dirty(Connection& c) {
  if (c.dirty || c.closing) return;
  c.dirty = true;
  dirty_.push_back(c.slot);
}

// The clock counts whole seconds: a deadline `timeout` ahead of now_ could come a moment
// after the event that set it, if that came late in its second. One more second makes every
// timeout at least as long as configured (a --command-timeout 1 closed idle clients in
// milliseconds).
std::int64_t Reactor::deadline_after(std::chrono::seconds timeout) const {
  return now_ + timeout.count() + 1;
}

void Reactor::extend_deadline(Connection& c) {
  note_phase(c);
  const auto timeout =
      c.phase == Session::Phase::data ? config_.data_timeout : config_.command_timeout;
  const auto deadline = deadline_after(timeout);
  if (deadline < c.deadline) timers_->schedule(c.key(), deadline);
  c.deadline = deadline;
}

void Reactor::service(Connection& c) {
  if (c.closing) return;
  if (!c.session) {  // HTTP, or still awaiting its PROXY header
    if (c.peer_closed || (c.http_answered && !c.send_in_flight)) begin_close(c);
    return;
  }
  if (c.tls && !c.tls->established()) return service_handshake(c);
  auto& session = *c.session;
  for (int round = 0; round < 64; ++round) {
    switch (session.wait()) {
      case Session::Wait::storage:
        if (session.has_message()) hand_to_storage(c);
        if (session.wait() == Session::Wait::storage) break;  // the writer will answer
        continue;
      case Session::Wait::auth:
        if (!c.auth_pending) hand_to_verifier(c);
        if (session.wait() == Session::Wait::auth) break;  // the verifier will answer
        continue;
      case Session::Wait::tls_handshake:  // feed() started it; only the 220 is left to send
        break;
      default:
        break;
    }
    if (!session.output().empty()) {
      extend_deadline(c);  // a reply means the client made progress
      if (!c.send_in_flight && !c.replies_held && !hold_for_errors(c)) {
        start_send(c);
        continue;  // sending may let the session take up input it held back
      }
    }
    if (draining_ && !session.closed() && !session.in_transaction() &&
        session.wait() == Session::Wait::input) {
      session.shutting_down();
      continue;
    }
    break;
  }
  const bool finished = session.closed() || c.peer_closed || c.tls_failed;
  if (finished && c.tls && session.output().empty() && session.wait() != Session::Wait::storage) {
    c.tls->close_notify();
    flush_tls(c);
  }
  if (finished && !c.send_in_flight && session.output().empty() &&
      (!c.tls || c.tls->outgoing().empty()) && session.wait() != Session::Wait::storage) {
    begin_close(c);
    return;
  }
  // Back-pressure: stop reading while the session holds too much unprocessed input, or,
  // while the storage ring is nearly full, while it sits between transactions: its next
  // MAIL waits in the kernel's socket buffer until the writer catches up.
  const bool too_much_input = session.backlog() > kBacklogLimit;
  const bool storage_lags = storage_nearly_full() && !session.in_transaction() &&
                            session.wait() == Session::Wait::input && session.output().empty();
  if ((too_much_input || storage_lags) && c.recv_armed && !c.recv_paused) {
    c.recv_paused = true;
    if (storage_lags) {
      c.paused_for_storage = true;
      paused_for_storage_.push_back(c.slot);
    }
    auto* sqe = ring_->sqe();
    io_uring_prep_cancel64(sqe, c.user_data(Op::recv).pack(), 0);
    io_uring_sqe_set_data64(sqe, UserData{Op::cancel, 0, 0}.pack());
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  } else if (c.recv_paused && !c.paused_for_storage && session.backlog() < kBacklogLimit / 2) {
    c.recv_paused = false;
    if (!c.recv_armed && !c.peer_closed) arm_recv(c);
  }
}

// The error tarpit (Postfix's smtpd_soft_error_limit and smtpd_error_sleep_time): replies the
// session made past its soft error limit leave error_sleep apart, so a client harvesting
// recipients or guessing passwords gets a reply a second from a connection, however much it
// pipelines, until max_errors closes it. Replies made while held wait their turn after.
bool Reactor::hold_for_errors(Connection& c) {
  const auto owed = c.session->take_delayed_replies();
  const auto sleep_s = c.session->context().limits().error_sleep_s;
  if (owed == 0 || sleep_s == 0) return false;
  metrics_.replies_delayed.add(owed);
  c.replies_held = true;
  // Its own timeout, to the nanosecond: the timer wheel counts whole seconds. The kernel
  // reads the time when the request is submitted, at the end of this loop turn.
  const auto release_ns = turn_ns_ + static_cast<std::int64_t>(owed) * sleep_s * 1'000'000'000;
  c.release_at = {.tv_sec = release_ns / 1'000'000'000, .tv_nsec = release_ns % 1'000'000'000};
  auto* sqe = ring_->sqe();
  io_uring_prep_timeout(sqe, &c.release_at, 0, IORING_TIMEOUT_ABS);
  io_uring_sqe_set_data64(sqe, c.user_data(Op::release).pack());
  return true;
}

void Reactor::start_send(Connection& c) {
  auto& session = *c.session;
  time_answer(c);
  if (c.tls && c.tls->established()) {
    if (!c.tls->send(session.output())) c.tls_failed = true;
    session.consume_output(session.output().size());
    // The last reply (221, 421) and close_notify (RFC 8446 §6.1) share one send.
    if (session.closed()) c.tls->close_notify();
    flush_tls(c);
    return;
  }
  // The session's output may grow while this send is in flight; the send owns a copy.
  c.send_buffer.clear();
  c.send_buffer.append(session.output());
  session.consume_output(session.output().size());
  c.send_offset = 0;
  submit_send(c);
}

void Reactor::submit_send(Connection& c) {
  auto* sqe = ring_->sqe();
  io_uring_prep_send(sqe, c.fd, c.send_buffer.data() + c.send_offset,
                     c.send_buffer.size() - c.send_offset, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, c.user_data(Op::send).pack());
  c.send_in_flight = true;
}

void Reactor::begin_close(Connection& c) {
  if (!c.open()) return;  // once per connection: a second close would free its slot twice
  c.closing = true;
  if (c.session) log_connection_closed(c);
  --live_;
  if (c.listener == metrics_listener_) --http_live_;
  metrics_.open.set(live_ - http_live_);
  if (c.listener == metrics_listener_)
    ;  // HTTP connections are not SMTP clients: not counted
  else if (c.client_counted)
    limiter_.release(c.client);
  else
    limiter_.release_total();
  std::uint64_t in_flight[2];
  std::size_t count = 0;
  if (c.recv_armed) in_flight[count++] = c.user_data(Op::recv).pack();
  if (c.send_in_flight) in_flight[count++] = c.user_data(Op::send).pack();
  cancel_then_close(*ring_, c.fd, std::span(in_flight, count), UserData{Op::cancel, 0, 0}.pack(),
                    c.user_data(Op::close).pack());
  c.close_pending = true;
}

void Reactor::maybe_free(Connection& c) {
  if (!c.closing || c.recv_armed || c.send_in_flight || c.close_pending) return;
  c.reset();
  free_slots_.push_back(c.slot);
}

void Reactor::on_tick() {
  if (now_ == last_tick_) return;
  last_tick_ = now_;
  if (space_ != nullptr) space_->refresh(now_);
  timers_->advance(now_, [this](std::uint64_t key) { on_timer(key); });
  for (unsigned i = 0; i < listeners_.size(); ++i) {
    if (accept_retry_[i] && !draining_) {
      accept_retry_[i] = false;
      arm_accept(i);
    }
  }
  if (draining_ && now_ >= drain_deadline_) {
    for (auto& c : slots_) {
      if (!c || !c->open()) continue;  // closing, or a free slot: closed once already
      if (!c->session) {               // never got as far as a greeting
        begin_close(*c);
        continue;
      }
      if (c->session->closed()) continue;
      if (c->session->wait() == Session::Wait::storage) continue;  // let storage answer
      if (c->tls && !c->tls->established()) {
        begin_close(*c);
        continue;
      }
      c->session->shutting_down();
      mark_dirty(*c);
    }
  }
  service_dirty();
}

// One service per connection per turn: every reply of a batch leaves in one send.
void Reactor::service_dirty() {
  for (std::size_t i = 0; i < dirty_.size(); ++i) {
    auto& c = *slots_[dirty_[i]];
    c.dirty = false;
    service(c);
  }
  dirty_.clear();
}

void Reactor::on_timer(std::uint64_t key) {
  const auto slot = static_cast<std::uint32_t>(key);
  if (slot >= slots_.size() || !slots_[slot]) return;
  auto& c = *slots_[slot];
  if (c.generation != static_cast<std::uint32_t>(key >> 32) || c.closing) return;
  if (!c.session) {  // no PROXY header in time
    if (c.deadline > now_)
      timers_->schedule(key, c.deadline);
    else
      begin_close(c);
    return;
  }
  auto& session = *c.session;
  if (c.replies_held) {  // the client waits on us, not we on it
    timers_->schedule(key, now_ + 1);
    return;
  }
  if (c.greeting_held) {
    if (c.deadline > now_) {  // the accept's command deadline came first: not yet
      timers_->schedule(key, c.deadline);
      return;
    }
    c.greeting_held = false;
    session.greet();  // a no-op for a session already closed as an early talker
    mark_dirty(c);
    // The client's command timeout counts from the greeting it answers, not from the accept.
    c.deadline = deadline_after(config_.command_timeout);
    timers_->schedule(key, c.deadline);
    return;
  }
  if (session.wait() == Session::Wait::storage || session.wait() == Session::Wait::auth) {
    timers_->schedule(key, now_ + 1);  // waiting on us, not on the client
    return;
  }
  if (c.deadline > now_) {
    timers_->schedule(key, c.deadline);
    return;
  }
  if (c.tls && !c.tls->established()) {  // a stalled handshake has no SMTP to answer in
    begin_close(c);
    return;
  }
  session.timed_out();  // RFC 5321 §4.5.3.2: 421 and close
  mark_dirty(c);
}

void Reactor::arm_accepts() {
  for (unsigned i = 0; i < listeners_.size(); ++i) arm_accept(i);
}

void Reactor::arm_accept(unsigned listener) {
  if (accept_armed_[listener] || listeners_[listener] < 0) return;
  auto* sqe = ring_->sqe();
  io_uring_prep_multishot_accept(sqe, listeners_[listener], nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, UserData{Op::accept, 0, listener}.pack());
  accept_armed_[listener] = true;
}

void Reactor::arm_recv(Connection& c) {
  auto* sqe = ring_->sqe();
  io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_->group();
  io_uring_sqe_set_data64(sqe, c.user_data(Op::recv).pack());
  c.recv_armed = true;
}

}  // namespace mxring::engine
