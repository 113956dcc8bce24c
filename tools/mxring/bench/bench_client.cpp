// The load generator's set-up, its completion loop and its clock (progress, timeouts, --rate,
// the end of the run); connections and transactions are bench_connection.cpp's and
// bench_transaction.cpp's.
#include "bench_client.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstring>

#include "bench_state.h"

namespace mxring::tools::bench {
namespace {

std::int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

BenchClient::BenchClient(BenchOptions options, MessageSource messages)
    : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->messages = std::move(messages);
}

BenchClient::~BenchClient() = default;

bool BenchClient::run(BenchStats& stats, std::string& error) {
  state_->stats = &stats;
  if (!state_->set_up(error)) return false;
  state_->run();
  return true;
}

BenchClient::State::~State() {
  for (auto& c : connections)
    if (c.fd >= 0) ::close(c.fd);
  receive_buffers.reset();  // unregistered from the ring before the ring goes
  if (ring_ready) io_uring_queue_exit(&ring);
  ClientTls::free_context(tls_context);
}

bool BenchClient::State::set_up(std::string& error) {
  if (options.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(options.cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      error = "cannot pin to CPU " + std::to_string(options.cpu);
      return false;
    }
  }
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  params.cq_entries = 16384;
  if (io_uring_queue_init_params(4096, &ring, &params) < 0) {
    params = {};
    if (const int rc = io_uring_queue_init_params(4096, &ring, &params); rc < 0) {
      error = std::string("io_uring: ") + std::strerror(-rc);
      return false;
    }
  }
  ring_ready = true;
  // Four buffers a connection (a reply, a TLS record or two), within the ring's limits.
  const auto buffers =
      std::clamp<std::size_t>(std::bit_ceil(std::size_t{options.connections} * 4), 256, 32768);
  auto made =
      engine::BufferRing::create(&ring, 0, static_cast<unsigned>(buffers), kReceiveBuffer, error);
  if (!made) return false;
  receive_buffers.emplace(std::move(*made));
  if (options.starttls || options.implicit_tls) {
    tls_context = ClientTls::new_context();
    if (tls_context == nullptr) {
      error = "cannot create a TLS context";
      return false;
    }
  }
  if (!options.ack_log.empty() && !ack_log.open(options.ack_log, error)) return false;
  from_pattern.emplace(options.from);
  to_pattern.emplace(options.to);
  connections.resize(options.connections);
  for (std::uint32_t i = 0; i < connections.size(); ++i) {
    connections[i].index = i;
  }
  return true;
}

void BenchClient::State::run() {
  start_ns = now = now_ns();
  warmup_end_ns = start_ns + static_cast<std::int64_t>(options.warmup_s * 1e9);
  end_ns = warmup_end_ns + static_cast<std::int64_t>(options.duration_s * 1e9);
  if (options.rate > 0) {
    period_ns = static_cast<std::int64_t>(1e9 / options.rate);
    next_token_ns = start_ns;
  }
  if (options.warmup_s <= 0) {
    window_open = true;
    window_cpu = cpu_seconds();
    window_ns = start_ns;
  }
  for (auto& c : connections) open_connection(c);
  arm_tick();
  while (!finished()) {
    io_uring_submit_and_wait(&ring, 1);
    unsigned head = 0, seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring, head, cqe) {
      dispatch(*cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring, seen);
    receive_buffers->publish();
  }
  if (options.progress) std::fprintf(stderr, "\n");
  stats->client_cpu_s = window_open ? cpu_seconds() - window_cpu : 0;
  for (std::size_t code = 0; code < reply_counts.size(); ++code)
    if (reply_counts[code] != 0) stats->replies[static_cast<int>(code)] = reply_counts[code];
  const auto end = last_done_ns > window_ns ? last_done_ns : now_ns();
  // Interrupted during the warm-up: nothing was measured.
  stats->elapsed_s = window_open ? static_cast<double>(end - window_ns) / 1e9 : 0;
}

void BenchClient::State::dispatch(const io_uring_cqe& cqe) {
  now = now_ns();
  const auto op = static_cast<Op>(cqe.user_data >> 56);
  if (op == Op::timer) return on_tick();
  // A buffer the kernel filled goes back to it, whatever became of its connection.
  std::optional<std::uint16_t> buffer;
  std::string_view bytes;
  if (op == Op::recv && (cqe.flags & IORING_CQE_F_BUFFER) != 0) {
    buffer = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    const auto received =
        receive_buffers->received(*buffer, static_cast<std::size_t>(std::max(cqe.res, 0)));
    bytes = {received.data(), received.size()};
  }
  struct Recycle {
    std::optional<std::uint16_t> id;
    engine::BufferRing& ring;
    ~Recycle() {
      if (id) ring.recycle(*id);
    }
  } recycle{buffer, *receive_buffers};
  const auto index = static_cast<std::uint32_t>(cqe.user_data);
  const auto generation = static_cast<std::uint32_t>(cqe.user_data >> 32) & 0xffffff;
  if (index >= connections.size()) return;
  auto& c = connections[index];
  if ((c.generation & 0xffffff) != generation || c.fd < 0) return;  // stale
  switch (op) {
    case Op::connect:
      on_connect(c, cqe.res);
      break;
    case Op::recv:
      if ((cqe.flags & IORING_CQE_F_MORE) == 0) c.recv_armed = false;
      on_recv(c, cqe.res, bytes);
      break;
    case Op::send:
      on_send(c, cqe.res);
      break;
    default:
      break;
  }
  if (c.fd >= 0) flush(c);
}

io_uring_sqe* BenchClient::State::sqe() {
  io_uring_sqe* e = io_uring_get_sqe(&ring);
  if (e == nullptr) {
    io_uring_submit(&ring);
    e = io_uring_get_sqe(&ring);
  }
  return e;
}

bool BenchClient::State::take_start(std::int64_t& scheduled) {
  if (!may_start()) return false;
  if (options.rate <= 0) {
    scheduled = now;
    return true;
  }
  if (now < next_token_ns) return false;
  scheduled = next_token_ns;
  next_token_ns += period_ns;
  return true;
}

void BenchClient::State::arm_tick() {
  tick.tv_sec = 0;
  tick.tv_nsec = options.rate > 0 ? 1'000'000 : 50'000'000;
  auto* e = sqe();
  io_uring_prep_timeout(e, &tick, 0, 0);
  io_uring_sqe_set_data64(e, static_cast<std::uint64_t>(Op::timer) << 56);
}

void BenchClient::State::on_tick() {
  fail_silent_connections();
  if (!window_open && now >= warmup_end_ns) {
    window_open = true;
    window_cpu = cpu_seconds();
    window_ns = now;
  }
  if (!stopping) {
    stats->interrupted = options.stop_requested != nullptr &&
                         options.stop_requested->load(std::memory_order_relaxed);
    if (stats->interrupted || (options.duration_s > 0 && now >= end_ns)) stop_starting();
  }
  // --rate: hand scheduled starts to connections that wait for one.
  while (!waiting.empty()) {
    auto& c = connections[waiting.front()];
    if (c.fd < 0 || c.stage != Stage::ready || c.tx) {
      waiting.pop_front();
      continue;
    }
    if (!may_start()) {
      waiting.pop_front();
      say_quit(c);
      flush(c);
      continue;
    }
    std::int64_t scheduled = 0;
    if (!take_start(scheduled)) break;
    waiting.pop_front();
    begin_transaction(c, scheduled);
    flush(c);
  }
  // Those waiting now, once: a connection that fails to open again waits for the next tick
  // (it went round this loop for ever when socket() kept failing).
  for (auto waiting_now = reconnect.size(); waiting_now > 0; --waiting_now) {
    auto& c = connections[reconnect.front()];
    reconnect.pop_front();
    if (c.fd < 0 && may_start()) open_connection(c);
  }
  if (options.progress && now - last_progress_ns >= 1'000'000'000) {
    const double seconds = static_cast<double>(now - last_progress_ns) / 1e9;
    if (last_progress_ns != 0)
      std::fprintf(stderr, "\rmxring bench: %9.0f msgs/s %8.1f MB/s  errors %llu  open %u   ",
                   static_cast<double>(progress_messages) / seconds,
                   static_cast<double>(progress_bytes) / seconds / 1e6,
                   static_cast<unsigned long long>(stats->errors), open);
    progress_messages = progress_bytes = 0;
    last_progress_ns = now;
  }
  arm_tick();
}

void BenchClient::State::fail_silent_connections() {
  if (now - last_timeout_scan_ns < 1'000'000'000) return;
  last_timeout_scan_ns = now;
  const auto limit = static_cast<std::int64_t>(options.timeout_s * 1e9);
  for (auto& c : connections) {
    if (c.fd < 0) continue;
    const bool waiting_close = c.stage == Stage::quitting && c.expects.empty();
    const bool handshaking = c.stage == Stage::connecting || c.stage == Stage::tls;
    if (c.expects.empty() && !handshaking && !waiting_close) continue;
    auto since = c.heard_ns;
    if (!c.expects.empty()) since = std::max(since, c.expects.front().sent_ns);
    if (now - since < limit) continue;
    if (waiting_close) {  // 221 came: the message count is right, only the close is late
      finish_connection(c);
      continue;
    }
    const char* awaited = c.stage == Stage::connecting ? "the connection"
                          : c.expects.empty()
                              ? "the TLS handshake"
                              : kPhaseNames[static_cast<std::size_t>(c.expects.front().phase)];
    char text[128];
    std::snprintf(text, sizeof text, "nothing from the server for %g s, waiting for %s",
                  options.timeout_s, awaited);
    fail(c, "timeout", text);
  }
}

void BenchClient::State::stop_starting() {
  stopping = true;
  waiting.clear();
  for (auto& c : connections) {
    if (c.fd < 0 || c.stage != Stage::ready || c.tx) continue;
    say_quit(c);
    flush(c);
  }
}

}  // namespace mxring::tools::bench
