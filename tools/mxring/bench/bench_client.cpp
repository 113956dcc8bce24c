#include "bench_client.h"

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>
#include <wolfssl/options.h>
// options.h first
#include <wolfssl/wolfcrypt/sha256.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "client_tls.h"
#include "mxring/engine/buffer_ring.h"
#include "reply_reader.h"

namespace mxring::tools::bench {
namespace {

enum class Op : std::uint8_t { connect = 1, recv, send, timer };

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

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16 |
                   static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8 |
                   static_cast<unsigned char>(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kAlphabet[(v >> s) & 63];
  }
  if (i < in.size()) {
    auto v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void append_number(std::string& out, std::uint64_t value) {
  char text[24];
  out.append(text, std::to_chars(text, text + sizeof text, value).ptr);
}

// A sender or recipient pattern: {n} message number, {c} connection, {r} recipient index.
// Split once into literal text and placeholders, so a message costs appends, not a scan.
class AddressPattern {
 public:
  explicit AddressPattern(std::string_view pattern) {
    std::string literal;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      const auto field = pattern.substr(i, 3);
      if (field == "{n}" || field == "{c}" || field == "{r}") {
        pieces_.push_back({std::move(literal), field[1]});
        literal.clear();
        i += 2;
      } else {
        literal += pattern[i];
      }
    }
    pieces_.push_back({std::move(literal), '\0'});
  }
  void append(std::string& out, std::uint64_t n, std::uint32_t c, unsigned r) const {
    for (const auto& [literal, field] : pieces_) {
      out += literal;
      if (field != '\0') append_number(out, field == 'n' ? n : field == 'c' ? c : r);
    }
  }

 private:
  std::vector<std::pair<std::string, char>> pieces_;  // text, then the field after it ('\0': none)
};

std::string sha256_hex(std::string_view a, std::string_view b) {
  wc_Sha256 sha;
  wc_InitSha256(&sha);
  wc_Sha256Update(&sha, reinterpret_cast<const byte*>(a.data()), static_cast<word32>(a.size()));
  wc_Sha256Update(&sha, reinterpret_cast<const byte*>(b.data()), static_cast<word32>(b.size()));
  byte digest[WC_SHA256_DIGEST_SIZE];
  wc_Sha256Final(&sha, digest);
  wc_Sha256Free(&sha);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (byte d : digest) {
    hex += kHex[d >> 4];
    hex += kHex[d & 15];
  }
  return hex;
}

}  // namespace

struct BenchClient::State {
  struct Expect {
    Phase phase;
    std::int64_t sent_ns;
  };
  struct Transaction {
    std::uint64_t number = 0;
    const MessageTemplate* message = nullptr;
    char header_text[48] = {};  // a unique first field, sent before the message
    std::uint8_t header_length = 0;
    std::string_view header() const { return {header_text, header_length}; }
    std::int64_t started_ns = 0;  // MAIL sent, or the scheduled start with --rate
    std::int64_t mail_sent_ns = 0;
    unsigned rcpt_replies = 0, rcpts_accepted = 0;
    bool failed = false;
    bool counted = true;  // false during the warm-up
    // Without PIPELINING: the commands after the first, sent one at a time. (A vector: a
    // deque allocates even when empty, and a transaction is made for every message.)
    std::vector<std::string> unsent;
    std::size_t next_unsent = 0;
  };
  // Replies awaited, oldest first: a vector read from `head`. It empties whenever every
  // command sent has its reply (at each 354, with PIPELINING), and is then reused as it is.
  class Expects {
   public:
    bool empty() const { return head_ == items_.size(); }
    const Expect& front() const { return items_[head_]; }
    void push_back(Expect expect) { items_.push_back(expect); }
    void pop_front() {
      if (++head_ == items_.size()) {
        clear();
      } else if (head_ >= 64 && 2 * head_ >= items_.size()) {  // never empties: compact
        items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
    }
    void clear() {
      items_.clear();
      head_ = 0;
    }

   private:
    std::vector<Expect> items_;
    std::size_t head_ = 0;
  };
  enum class Stage : std::uint8_t { closed, connecting, greeting, hello, tls, ready, quitting };
  struct Connection {
    std::uint32_t index = 0;
    std::uint32_t generation = 0;
    int fd = -1;
    Stage stage = Stage::closed;
    ReplyReader reader;
    Expects expects;
    bool recv_armed = false;  // a multishot receive is armed on fd
    sockaddr_storage peer{};  // the connect SQE points here until it completes
    std::string out, in_flight;
    std::size_t in_flight_offset = 0;
    bool sending = false;
    std::int64_t connect_ns = 0, tls_started_ns = 0;
    std::int64_t heard_ns = 0;   // the last sign of life: connected, bytes received or sent
    std::uint64_t messages = 0;  // on this connection
    bool pipelining = false, chunking = false, starttls = false, size = false;
    bool eight_bit_mime = false, binary_mime = false;
    std::uint64_t size_limit = 0;  // SIZE's argument (RFC 1870); 0: none given
    std::uint64_t mail_max = 0;    // LIMITS MAILMAX (RFC 9422): messages per connection; 0: none
    std::optional<Transaction> tx, next_tx;  // next_tx: pipelined behind tx's content
    std::unique_ptr<ClientTls> tls;
  };
  // Receives are multishot into buffers the kernel picks from one ring shared by every
  // connection: a receive is armed once per connection, not once per reply.
  static constexpr unsigned kReceiveBuffer = 4096;
  std::optional<engine::BufferRing> receive_buffers;

  BenchOptions options;
  MessageSource messages;
  io_uring ring{};
  bool ring_ready = false;
  std::vector<Connection> connections;
  std::vector<ReplyView> replies;  // scratch
  // Replies by code (0: malformed), counted here and handed to the stats at the end.
  std::array<std::uint64_t, 600> reply_counts{};
  std::string scratch;  // a command being written; content being put in one TLS record
  std::optional<AddressPattern> from_pattern, to_pattern;
  // The time of the completion being handled: what happens in one handler goes out in one
  // send or came in one receive, so one clock read serves it all.
  std::int64_t now = 0;
  BenchStats* stats = nullptr;
  void* tls_context = nullptr;
  std::ofstream ack_log;

  std::int64_t start_ns = 0, warmup_end_ns = 0, end_ns = 0, last_done_ns = 0;
  std::int64_t next_token_ns = 0, period_ns = 0;
  std::deque<std::uint32_t> waiting;    // ready connections waiting for a start (--rate)
  std::deque<std::uint32_t> reconnect;  // closed after an error: reopened on the next tick
  std::uint64_t started = 0;
  std::uint32_t open = 0;
  bool stopping = false;
  bool window_open = false;
  double window_cpu = 0;
  std::int64_t window_ns = 0;
  std::int64_t last_progress_ns = 0;
  std::int64_t last_timeout_scan_ns = 0;
  std::uint64_t progress_messages = 0, progress_bytes = 0;
  __kernel_timespec tick{};

  ~State() {
    for (auto& c : connections)
      if (c.fd >= 0) ::close(c.fd);
    receive_buffers.reset();  // unregistered from the ring before the ring goes
    if (ring_ready) io_uring_queue_exit(&ring);
    ClientTls::free_context(tls_context);
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* e = io_uring_get_sqe(&ring);
    if (e == nullptr) {
      io_uring_submit(&ring);
      e = io_uring_get_sqe(&ring);
    }
    return e;
  }
  std::uint64_t tag(Op op, const Connection& c) const {
    return static_cast<std::uint64_t>(op) << 56 |
           static_cast<std::uint64_t>(c.generation & 0xffffff) << 32 | c.index;
  }

  bool set_up(std::string& error) {
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
    if (!options.ack_log.empty()) {
      ack_log.open(options.ack_log, std::ios::trunc);
      if (!ack_log) {
        error = "cannot write " + options.ack_log;
        return false;
      }
    }
    from_pattern.emplace(options.from);
    to_pattern.emplace(options.to);
    connections.resize(options.connections);
    for (std::uint32_t i = 0; i < connections.size(); ++i) {
      connections[i].index = i;
    }
    return true;
  }

  // ---- starting work ----

  bool may_start() const { return !stopping && (options.count == 0 || started < options.count); }

  // A transaction may begin now: closed loop, or a scheduled start has come (open loop).
  bool take_start(std::int64_t& scheduled) {
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

  void open_connection(Connection& c) {
    const auto& target = options.targets[c.index % options.targets.size()];
    auto& address = c.peer;
    address = {};
    socklen_t length = 0;
    const bool v6 = target.address.find(':') != std::string::npos;
    if (v6) {
      auto& a = reinterpret_cast<sockaddr_in6&>(address);
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(target.port);
      inet_pton(AF_INET6, target.address.c_str(), &a.sin6_addr);
      length = sizeof a;
    } else {
      auto& a = reinterpret_cast<sockaddr_in&>(address);
      a.sin_family = AF_INET;
      a.sin_port = htons(target.port);
      inet_pton(AF_INET, target.address.c_str(), &a.sin_addr);
      length = sizeof a;
    }
    c.fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      stats->error("socket", std::string("socket: ") + std::strerror(errno));
      reconnect.push_back(c.index);
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
    io_uring_prep_connect(e, c.fd, reinterpret_cast<sockaddr*>(&c.peer), length);
    io_uring_sqe_set_data64(e, tag(Op::connect, c));
  }

  void close(Connection& c) {
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

  // A failed connection: counted, closed, and reopened on the next tick if work remains.
  void fail(Connection& c, std::string_view kind, std::string_view example) {
    stats->error(kind, example);
    close(c);
    // A server that refuses everything must not keep the run going forever.
    if (++failures_in_a_row > 1000 + 10ull * connections.size()) stopping = true;
    if (may_start()) reconnect.push_back(c.index);
  }
  std::uint64_t failures_in_a_row = 0;

  // ---- sending and receiving ----

  // Sends `parts` (encrypted once TLS is up, as one record) and expects one reply of `phase`
  // for them.
  void queue(Connection& c, std::initializer_list<std::string_view> parts, Phase phase) {
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
  void queue(Connection& c, std::string_view bytes, Phase phase) { queue(c, {bytes}, phase); }

  void flush(Connection& c) {
    if (c.sending || c.fd < 0) return;
    auto& source = c.tls ? c.tls->outgoing() : c.out;
    if (source.empty()) return;
    std::swap(c.in_flight, source);
    source.clear();
    c.in_flight_offset = 0;
    submit_send(c);
  }

  void submit_send(Connection& c) {
    auto* e = sqe();
    io_uring_prep_send(e, c.fd, c.in_flight.data() + c.in_flight_offset,
                       c.in_flight.size() - c.in_flight_offset, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(e, tag(Op::send, c));
    c.sending = true;
  }

  void arm_recv(Connection& c) {
    if (c.recv_armed) return;
    auto* e = sqe();
    io_uring_prep_recv_multishot(e, c.fd, nullptr, 0, 0);
    e->flags |= IOSQE_BUFFER_SELECT;
    e->buf_group = receive_buffers->group();
    io_uring_sqe_set_data64(e, tag(Op::recv, c));
    c.recv_armed = true;
  }

  void on_connect(Connection& c, int res) {
    if (res < 0) return fail(c, "connect", std::string("connect: ") + std::strerror(-res));
    c.heard_ns = now;
    c.stage = Stage::greeting;
    c.expects.push_back({Phase::banner, c.connect_ns});
    if (options.implicit_tls) start_tls(c);
    arm_recv(c);
    flush(c);
  }

  void start_tls(Connection& c) {
    c.tls = std::make_unique<ClientTls>(tls_context);
    c.tls_started_ns = now;
    if (c.stage != Stage::greeting) c.stage = Stage::tls;  // implicit TLS greets afterwards
    std::string ignored;
    if (!c.tls->receive({}, ignored)) return fail(c, "TLS", "TLS: " + c.tls->failure());
  }

  void on_send(Connection& c, int res) {
    c.sending = false;
    if (res < 0) return fail(c, "send", std::string("send: ") + std::strerror(-res));
    c.heard_ns = now;
    c.in_flight_offset += static_cast<std::size_t>(res);
    if (c.in_flight_offset < c.in_flight.size()) return submit_send(c);
    c.in_flight.clear();
    flush(c);
  }

  void on_recv(Connection& c, int res, std::string_view bytes) {
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
  std::string tls_scratch;

  void on_tls_established(Connection& c) {
    record(Phase::starttls, c.tls_started_ns);
    if (c.stage == Stage::greeting) return;  // implicit TLS: the banner comes next, encrypted
    // RFC 3207 §4.2: everything learned before TLS is forgotten; EHLO again.
    queue(c, "EHLO " + options.helo + "\r\n", Phase::ehlo);
    c.stage = Stage::hello;
  }

  // ---- replies ----

  // A transaction's phases are measured, as its message is counted, only after the warm-up;
  // a connection's (banner, EHLO, TLS, AUTH, RSET, QUIT) whenever they happen.
  static bool counted(const Connection& c) { return c.tx && c.tx->counted; }

  void record(Phase phase, std::int64_t since) {
    stats->latency[static_cast<std::size_t>(phase)].record(
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - since) / 1000));
  }

  void on_reply(Connection& c, const ReplyView& reply) {
    ++reply_counts[static_cast<std::size_t>(reply.code)];
    if (c.expects.empty())
      return fail(c, "unexpected",
                  "a reply nobody asked for: " + std::string(reply.text.substr(0, 200)));
    const auto expect = c.expects.front();
    c.expects.pop_front();
    const auto first_line = reply.first_line();
    const auto what = [&](const char* name) {
      return std::string(name) + " " + std::to_string(reply.code);
    };
    switch (expect.phase) {
      case Phase::banner:
        if (reply.code != 220) return fail(c, what("banner"), first_line);
        record(Phase::banner, expect.sent_ns);
        queue(c, "EHLO " + options.helo + "\r\n", Phase::ehlo);
        c.stage = Stage::hello;
        return;
      case Phase::ehlo:
        if (reply.code != 250) return fail(c, what("EHLO"), first_line);
        record(Phase::ehlo, expect.sent_ns);
        read_extensions(c, reply.text);
        if (options.starttls && !c.tls) {
          if (!c.starttls) return fail(c, "STARTTLS not offered", first_line);
          queue(c, "STARTTLS\r\n", Phase::starttls);
          return;
        }
        if (!options.auth_user.empty()) {
          const std::string plain =
              std::string(1, '\0') + options.auth_user + '\0' + options.auth_password;
          queue(c, "AUTH PLAIN " + base64(plain) + "\r\n", Phase::auth);
          return;
        }
        c.stage = Stage::ready;
        return next_step(c);
      case Phase::starttls:
        if (reply.code != 220) return fail(c, what("STARTTLS"), first_line);
        c.stage = Stage::tls;
        c.reader.reset();
        start_tls(c);
        return;
      case Phase::auth:
        if (reply.code != 235) {
          stopping = true;  // wrong credentials do not get better by retrying
          return fail(c, what("AUTH"), first_line);
        }
        record(Phase::auth, expect.sent_ns);
        c.stage = Stage::ready;
        return next_step(c);
      case Phase::mail:
        if (counted(c)) record(Phase::mail, expect.sent_ns);
        if (reply.code / 100 != 2) {
          transaction_error(c, what("MAIL"), first_line);
          // One command at a time, a refused MAIL ends the transaction (RFC 5321 §3.3); with
          // PIPELINING, the RCPTs and DATA are already sent and are answered in turn.
          if (!pipelined(c)) return abort_transaction(c);
        }
        return send_unsent(c);
      case Phase::rcpt: {
        const bool accepted = reply.code / 100 == 2;
        if (!accepted) transaction_error(c, what("RCPT"), first_line);
        if (!c.tx) return;
        if (accepted) ++c.tx->rcpts_accepted;
        const bool last = ++c.tx->rcpt_replies == options.recipients;
        if (last && counted(c)) record(Phase::rcpt, c.tx->mail_sent_ns);
        if (last && c.tx->rcpts_accepted == 0 && !pipelined(c)) return abort_transaction(c);
        return send_unsent(c);
      }
      case Phase::data:
        if (reply.code != 354) {
          transaction_error(c, what("DATA"), first_line);
          return abort_transaction(c);
        }
        if (counted(c)) record(Phase::data, expect.sent_ns);
        return send_content(c);
      case Phase::end_of_data:
        return end_of_message(c, reply, expect, first_line);
      case Phase::rset:
        record(Phase::rset, expect.sent_ns);
        if (reply.code != 250) return fail(c, what("RSET"), first_line);
        return next_step(c);
      case Phase::quit:
        record(Phase::quit, expect.sent_ns);
        if (reply.code != 221) stats->error(what("QUIT"), first_line);
        return;  // the server closes; on_recv sees the end of the stream
      default:
        return;
    }
  }

  void read_extensions(Connection& c, std::string_view text) {
    c.pipelining = c.chunking = c.starttls = c.size = c.eight_bit_mime = c.binary_mime = false;
    c.size_limit = 0;
    c.mail_max = 0;
    std::size_t at = 0;
    while (at < text.size()) {
      auto end = text.find("\r\n", at);
      if (end == std::string::npos) end = text.size();
      std::string line(text.substr(at, end - at));
      at = end + 2;
      if (line.size() < 4) continue;
      line = line.substr(4);
      for (auto& ch : line) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (line == "PIPELINING") c.pipelining = true;
      if (line == "CHUNKING") c.chunking = true;
      if (line == "8BITMIME") c.eight_bit_mime = true;
      if (line == "BINARYMIME") c.binary_mime = true;
      if (line == "STARTTLS") c.starttls = true;
      if (line.starts_with("LIMITS ")) {
        if (const auto mailmax = line.find("MAILMAX="); mailmax != std::string::npos)
          c.mail_max = std::strtoull(line.c_str() + mailmax + 8, nullptr, 10);
      }
      if (line.starts_with("SIZE")) {
        c.size = true;
        if (line.size() > 5) c.size_limit = std::strtoull(line.c_str() + 5, nullptr, 10);
      }
    }
  }

  void transaction_error(Connection& c, std::string_view kind, std::string_view line) {
    stats->error(kind, line);
    if (c.tx) c.tx->failed = true;
  }

  // ---- transactions ----

  void next_step(Connection& c) {
    if (c.stage != Stage::ready || c.tx) return;
    if (!room_for_another(c, 0) || !may_start()) return say_quit(c);
    std::int64_t scheduled = 0;
    if (!take_start(scheduled)) {
      waiting.push_back(c.index);  // --rate: the next scheduled start takes it
      return;
    }
    begin_transaction(c, scheduled);
  }

  // Whether this connection may carry one more message beyond `in_flight` unanswered ones:
  // --messages-per-connection, and the server's MAILMAX (then QUIT and reconnect).
  bool room_for_another(const Connection& c, std::uint64_t in_flight) const {
    const auto next = c.messages + in_flight;
    if (options.messages_per_connection > 0 && next >= options.messages_per_connection)
      return false;
    return c.mail_max == 0 || next < c.mail_max;
  }

  void say_quit(Connection& c) {
    c.stage = Stage::quitting;
    queue(c, "QUIT\r\n", Phase::quit);
  }

  // The next message, not yet started: what unsendable() looks at before start() takes it.
  Transaction next_transaction() const {
    Transaction tx;
    tx.number = started;
    tx.message = &messages.pick(tx.number);
    constexpr std::string_view name = "X-Mxring-Bench: ";
    char* end = std::copy(name.begin(), name.end(), tx.header_text);
    end = std::to_chars(end, tx.header_text + sizeof tx.header_text, tx.number).ptr;
    *end++ = '\r';
    *end++ = '\n';
    tx.header_length = static_cast<std::uint8_t>(end - tx.header_text);
    return tx;
  }
  // Takes `tx` (made by next_transaction) as started at `scheduled`.
  void start(Transaction& tx, std::int64_t scheduled) {
    ++started;
    tx.started_ns = scheduled;
    tx.counted = scheduled >= warmup_end_ns;
  }

  // MAIL, RCPTs and DATA (or BDAT with the content), each handed in turn to
  // `put(text, phase)`; `text` lasts until the next is written.
  template <typename Put>
  void commands(const Connection& c, const Transaction& tx, Put&& put) {
    const auto size = tx.header_length + tx.message->original.size();
    scratch.assign("MAIL FROM:<");
    from_pattern->append(scratch, tx.number, c.index, 0);
    scratch += '>';
    if (c.size) {
      scratch += " SIZE=";
      append_number(scratch, size);
    }
    if (tx.message->body == MessageTemplate::Body::binary || c.eight_bit_mime)
      scratch += tx.message->body_parameter();
    scratch += "\r\n";
    put(scratch, Phase::mail);
    for (unsigned r = 0; r < options.recipients; ++r) {
      scratch.assign("RCPT TO:<");
      to_pattern->append(scratch, tx.number, c.index, r);
      scratch += ">\r\n";
      put(scratch, Phase::rcpt);
    }
    if (sends_bdat(c, tx)) {
      scratch.assign("BDAT ");
      append_number(scratch, size);
      scratch += " LAST\r\n";
      scratch += tx.header();
      scratch += tx.message->original;
      put(scratch, Phase::end_of_data);
    } else {
      put("DATA\r\n", Phase::data);
    }
  }
  // BDAT LAST when asked for and offered, and always for binary content (RFC 3030 §3), which
  // begin_transaction sends only to a server that offers CHUNKING and BINARYMIME.
  bool sends_bdat(const Connection& c, const Transaction& tx) const {
    return (options.bdat && c.chunking) || tx.message->body == MessageTemplate::Body::binary;
  }
  bool pipelined(const Connection& c) const { return options.pipelining && c.pipelining; }

  // RFC 1870: a message over the server's SIZE; RFC 3030 §3: binary content to a server that
  // does not offer BDAT with BODY=BINARYMIME. The kind of error and what it says.
  std::optional<std::pair<std::string, std::string>> unsendable(const Connection& c,
                                                                const Transaction& tx) const {
    const auto size = tx.header_length + tx.message->original.size();
    if (c.size_limit > 0 && size > c.size_limit)
      return std::pair{"over SIZE", "a " + std::to_string(size) + "-octet message, SIZE " +
                                        std::to_string(c.size_limit)};
    if (tx.message->body == MessageTemplate::Body::binary && !(c.chunking && c.binary_mime))
      return std::pair{"needs BINARYMIME",
                       std::string("binary content (a bare CR or LF, or a NUL) and a server "
                                   "without CHUNKING and BINARYMIME")};
    return std::nullopt;
  }

  void begin_transaction(Connection& c, std::int64_t scheduled) {
    c.tx = next_transaction();
    start(*c.tx, scheduled);
    // A message this server cannot take is not sent; that is an error of the run.
    if (const auto why = unsendable(c, *c.tx)) {
      stats->error(why->first, why->second);
      c.tx.reset();
      ++c.messages;
      stopping = true;  // every later message would be refused alike
      return say_quit(c);
    }
    c.tx->mail_sent_ns = now;
    bool first = true;
    commands(c, *c.tx, [&](std::string_view text, Phase phase) {
      if (pipelined(c) || first) {
        queue(c, text, phase);
      } else {
        c.tx->unsent.emplace_back(text);
      }
      first = false;
    });
  }

  // Without PIPELINING: the next command once the last one is answered.
  void send_unsent(Connection& c) {
    if (!c.tx || c.tx->next_unsent == c.tx->unsent.size() || pipelined(c)) return;
    const auto text = std::move(c.tx->unsent[c.tx->next_unsent++]);
    Phase phase = Phase::rcpt;
    if (text.starts_with("DATA")) phase = Phase::data;
    if (text.starts_with("BDAT")) phase = Phase::end_of_data;
    queue(c, text, phase);
  }

  void send_content(Connection& c) {
    auto& tx = *c.tx;
    queue(c, {tx.header(), tx.message->stuffed, ".\r\n"}, Phase::end_of_data);
    // RFC 2920 §3.1: the content may be followed, in the same send, by the next MAIL, RCPTs
    // and DATA: one round trip per message.
    const bool more = room_for_another(c, 1);
    std::int64_t scheduled = 0;
    // A next message this server cannot take is left to begin_transaction, which says why.
    if (pipelined(c) && options.chain && more) {
      auto next = next_transaction();
      if (unsendable(c, next) || !take_start(scheduled)) return;
      start(next, scheduled);
      c.next_tx = std::move(next);
      c.next_tx->mail_sent_ns = now;
      commands(c, *c.next_tx, [&](std::string_view text, Phase phase) { queue(c, text, phase); });
    }
  }

  void abort_transaction(Connection& c) {
    c.tx.reset();
    ++c.messages;
    queue(c, "RSET\r\n", Phase::rset);
  }

  void end_of_message(Connection& c, const ReplyView& reply, const Expect& expect,
                      std::string_view first_line) {
    if (!c.tx) return fail(c, "unexpected", "an end-of-data reply without a message");
    auto& tx = *c.tx;
    const bool ok = reply.code / 100 == 2;
    const bool bdat = sends_bdat(c, tx);
    if (!ok)
      transaction_error(c, (bdat ? "BDAT " : "end of data ") + std::to_string(reply.code),
                        first_line);
    if (ok && !tx.failed) {
      const auto bytes = tx.header_length + tx.message->original.size();
      progress_messages += 1;
      progress_bytes += bytes;
      failures_in_a_row = 0;
      if (tx.counted) {
        record(Phase::end_of_data, expect.sent_ns);
        record(Phase::transaction, tx.started_ns);
        ++stats->messages;
        stats->message_bytes += bytes;
        last_done_ns = now;
      }
      if (ack_log.is_open()) {
        // "250 2.0.0 Ok: queued as ID" (mxring, Postfix), else the reply's last word.
        auto id = first_line.substr(first_line.rfind(' ') + 1);
        if (const auto as = first_line.find(" as "); as != std::string::npos)
          id = first_line.substr(as + 4, first_line.find(' ', as + 4) - (as + 4));
        ack_log << id << ' ' << sha256_hex(tx.header(), tx.message->original) << '\n';
      }
    }
    ++c.messages;
    const bool rset = !ok && bdat;  // a failed BDAT LAST: start clean
    c.tx = std::move(c.next_tx);
    c.next_tx.reset();
    if (rset && !c.tx) return (void)queue(c, "RSET\r\n", Phase::rset);
    if (!c.tx) next_step(c);
  }

  void finish_connection(Connection& c) {
    close(c);
    if (may_start()) open_connection(c);
  }

  // ---- the clock ----

  void arm_tick() {
    tick.tv_sec = 0;
    tick.tv_nsec = options.rate > 0 ? 1'000'000 : 50'000'000;
    auto* e = sqe();
    io_uring_prep_timeout(e, &tick, 0, 0);
    io_uring_sqe_set_data64(e, static_cast<std::uint64_t>(Op::timer) << 56);
  }

  // A server that never answers must not hold the run: a connect that never completes (a
  // handshake the server's full accept queue dropped leaves the client waiting for a banner
  // that never comes), a reply that never comes, a close after QUIT that never comes. Checked
  // once a second; the oldest unanswered command's age counts from when it was queued or from
  // the last bytes that moved, whichever is later.
  void fail_silent_connections() {
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

  // The run's end (its duration, or an interrupt): no transaction starts any more; idle
  // connections quit now, busy ones once their message is answered.
  void stop_starting() {
    stopping = true;
    waiting.clear();
    for (auto& c : connections) {
      if (c.fd < 0 || c.stage != Stage::ready || c.tx) continue;
      say_quit(c);
      flush(c);
    }
  }

  void on_tick() {
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
    while (!reconnect.empty()) {
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

  bool finished() const { return open == 0 && reconnect.empty() && (stopping || !may_start()); }

  void dispatch(const io_uring_cqe& cqe) {
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

  void run() {
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
};

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

}  // namespace mxring::tools::bench
