// The load generator's state and the declarations of its parts, private to bench/:
// bench_client.cpp (set-up, the completion loop, the clock), bench_connection.cpp (sockets,
// sends, receives, TLS), bench_transaction.cpp (replies and the SMTP transactions).
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ack_log.h"
#include "address_pattern.h"
#include "bench_client.h"
#include "client_tls.h"
#include "common/ehlo_offer.h"
#include "mxring/engine/buffer_ring.h"
#include "reply_reader.h"

namespace mxring::tools::bench {

struct BenchClient::State {
  enum class Op : std::uint8_t { connect = 1, recv, send, timer };

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
    EhloOffer offer;             // what the server's last EHLO reply offered
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
  AckLog ack_log;

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
  std::uint64_t failures_in_a_row = 0;  // reset by each acknowledged message
  std::string tls_scratch;              // plaintext out of one TLS receive

  // ---- bench_client.cpp: set-up, the loop, the clock ----

  ~State();
  bool set_up(std::string& error);
  void run();
  void dispatch(const io_uring_cqe& cqe);
  io_uring_sqe* sqe();
  std::uint64_t tag(Op op, const Connection& c) const {
    return static_cast<std::uint64_t>(op) << 56 |
           static_cast<std::uint64_t>(c.generation & 0xffffff) << 32 | c.index;
  }
  bool finished() const { return open == 0 && reconnect.empty() && (stopping || !may_start()); }
  bool may_start() const { return !stopping && (options.count == 0 || started < options.count); }
  // A transaction may begin now: closed loop, or a scheduled start has come (open loop).
  bool take_start(std::int64_t& scheduled);
  void arm_tick();
  void on_tick();
  // A server that never answers must not hold the run: a connect that never completes (a
  // handshake the server's full accept queue dropped leaves the client waiting for a banner
  // that never comes), a reply that never comes, a close after QUIT that never comes. Checked
  // once a second; the oldest unanswered command's age counts from when it was queued or from
  // the last bytes that moved, whichever is later.
  void fail_silent_connections();
  // The run's end (its duration, or an interrupt): no transaction starts any more; idle
  // connections quit now, busy ones once their message is answered.
  void stop_starting();

  // ---- bench_connection.cpp: sockets, sending and receiving ----

  void open_connection(Connection& c);
  void close(Connection& c);
  // A failed connection: counted, closed, and reopened on the next tick if work remains.
  void fail(Connection& c, std::string_view kind, std::string_view example);
  // After the server's close that follows QUIT: closed, and reopened if work remains.
  void finish_connection(Connection& c);
  // Sends `parts` (encrypted once TLS is up, as one record) and expects one reply of `phase`
  // for them.
  void queue(Connection& c, std::initializer_list<std::string_view> parts, Phase phase);
  void queue(Connection& c, std::string_view bytes, Phase phase) { queue(c, {bytes}, phase); }
  void flush(Connection& c);
  void submit_send(Connection& c);
  void arm_recv(Connection& c);
  void on_connect(Connection& c, int res);
  void start_tls(Connection& c);
  void on_send(Connection& c, int res);
  void on_recv(Connection& c, int res, std::string_view bytes);
  void on_tls_established(Connection& c);

  // ---- bench_transaction.cpp: replies and transactions ----

  // A transaction's phases are measured, as its message is counted, only after the warm-up;
  // a connection's (banner, EHLO, TLS, AUTH, RSET, QUIT) whenever they happen.
  static bool counted(const Connection& c) { return c.tx && c.tx->counted; }
  void record(Phase phase, std::int64_t since) {
    stats->latency[static_cast<std::size_t>(phase)].record(
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - since) / 1000));
  }
  // A state machine over the phase of the command each reply answers (the oldest awaiting one).
  void on_reply(Connection& c, const ReplyView& reply);
  void read_extensions(Connection& c, std::string_view text);
  void transaction_error(Connection& c, std::string_view kind, std::string_view line) {
    stats->error(kind, line);
    if (c.tx) c.tx->failed = true;
  }
  void next_step(Connection& c);
  // Whether this connection may carry one more message beyond `in_flight` unanswered ones:
  // --messages-per-connection, and the server's MAILMAX (then QUIT and reconnect).
  bool room_for_another(const Connection& c, std::uint64_t in_flight) const;
  void say_quit(Connection& c);
  // The next message, not yet started: what unsendable() looks at before start() takes it.
  Transaction next_transaction() const;
  // Takes `tx` (made by next_transaction) as started at `scheduled`.
  void start(Transaction& tx, std::int64_t scheduled);
  // MAIL, RCPTs and DATA (or BDAT with the content), each handed in turn to
  // `put(text, phase)`; `text` lasts until the next is written.
  template <typename Put>
  void commands(const Connection& c, const Transaction& tx, Put&& put);
  // BDAT LAST when asked for and offered, and always for binary content (RFC 3030 §3), which
  // begin_transaction sends only to a server that offers CHUNKING and BINARYMIME.
  bool sends_bdat(const Connection& c, const Transaction& tx) const {
    return (options.bdat && c.offer.chunking) || tx.message->body == MessageTemplate::Body::binary;
  }
  bool pipelined(const Connection& c) const { return options.pipelining && c.offer.pipelining; }
  // RFC 1870: a message over the server's SIZE; RFC 3030 §3: binary content to a server that
  // does not offer BDAT with BODY=BINARYMIME. The kind of error and what it says.
  std::optional<std::pair<std::string, std::string>> unsendable(const Connection& c,
                                                                const Transaction& tx) const;
  void begin_transaction(Connection& c, std::int64_t scheduled);
  // Without PIPELINING: the next command once the last one is answered.
  void send_unsent(Connection& c);
  void send_content(Connection& c);
  void abort_transaction(Connection& c);
  void end_of_message(Connection& c, const ReplyView& reply, const Expect& expect,
                      std::string_view first_line);
};

}  // namespace mxring::tools::bench
