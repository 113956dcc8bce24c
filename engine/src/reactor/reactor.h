// One reactor: a thread, its io_uring, its provided receive buffers, its SO_REUSEPORT
// listeners and the connections they accept. Nothing here is shared with other reactors but
// the read-only configuration and the connection caps.
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth_verifier.h"
#include "connection_limiter.h"
#include "mxring/engine/buffer_ring.h"
#include "mxring/engine/byte_buffer.h"
#include "mxring/engine/log.h"
#include "mxring/engine/queue_id_generator.h"
#include "mxring/engine/server.h"
#include "mxring/engine/session.h"
#include "rate_limiter.h"
#include "reactor_metrics.h"
#include "ring.h"
#include "server_metrics.h"
#include "storage/storage_channel.h"
#include "storage/store_space.h"
#include "timer_wheel.h"
#include "tls/tls_contexts.h"
#include "user_data.h"

namespace mxring::engine {

class Reactor final : private SessionServices {
 public:
  // `storage`: this reactor's channel to its spool writer; null when every listener discards.
  Reactor(unsigned index, int cpu, const ServerConfig& config, ConnectionLimiter& limiter,
          RuntimeConfig runtime, std::shared_ptr<const tls::TicketKeys> tickets,
          StorageChannel* storage, AuthVerifier* auth, ContentBudget* content_budget,
          StoreSpace* space = nullptr, RateExchange* rate_exchange = nullptr,
          const ServerMetrics* metrics_page = nullptr);
  ~Reactor();

  // The thread body. `ready` is called once, with an empty string when the reactor listens.
  void run(const std::function<void(const std::string& error)>& ready);

  // From any thread.
  void request_shutdown();
  void request_serve();  // start accepting (ServerConfig::accept_at_start false)
  void request_reload(RuntimeConfig runtime, RateExchange* rate_exchange);
  void post_auth_answer(AuthAnswer answer);

 private:
  struct Connection;
  struct Mailbox {
    std::mutex mutex;
    bool shutdown = false;
    bool serve = false;
    std::optional<RuntimeConfig> runtime;
    RateExchange* rate_exchange = nullptr;  // with `runtime`
    std::vector<AuthAnswer> auth_answers;
  };

  std::string set_up();
  void loop();
  void tear_down();

  void on_completion(const io_uring_cqe& cqe);
  void on_accept(unsigned listener, int res, std::uint32_t flags);
  void on_recv(Connection& c, int res, std::uint32_t flags);
  void on_send(Connection& c, int res);
  void on_wake();
  void on_tick();
  void on_timer(std::uint64_t key);

  Connection& take_slot(int fd);
  void open_connection(unsigned listener, int fd);
  bool xclient_trusted(const sockaddr_storage& client) const;
  void start_session(Connection& c, ConnectionInfo info);
  void read_proxy_header(Connection& c, std::span<const char> bytes);
  void open_http(int fd);
  void read_http_request(Connection& c, std::span<const char> bytes);
  void feed(Connection& c, std::span<const char> bytes);
  void feed_tls(Connection& c, std::span<const char> ciphertext);
  bool start_tls(Connection& c);
  void flush_tls(Connection& c);
  void service(Connection& c);
  void service_handshake(Connection& c);
  void apply(RuntimeConfig runtime, RateExchange* rate_exchange);
  void service_dirty();
  bool hold_for_errors(Connection& c);
  void start_send(Connection& c);
  void submit_send(Connection& c);
  void begin_close(Connection& c);
  void maybe_free(Connection& c);
  void mark_dirty(Connection& c);
  void extend_deadline(Connection& c);
  std::int64_t deadline_after(std::chrono::seconds timeout) const;
  void note_phase(Connection& c);
  // `client` as the per-address caps and limits count it (ServerConfig::client_ipv6_prefix).
  ClientKey counted_client(const MappedOctets& client) const {
    return network_of(ClientKey{client}, 32, config_.client_ipv6_prefix);
  }
  // ... the client `session` speaks for (XCLIENT may have named it).
  ClientKey counted_client(const Session& session) const {
    return counted_client(session.connection().client_octets);
  }
  void start_draining();
  void hand_to_storage(Connection& c);
  void hand_to_verifier(Connection& c);
  void collect_auth_answers(std::vector<AuthAnswer>& answers);
  void collect_storage_answers();
  void publish_to_storage();
  void resume_paused_for_storage();
  void stage_for_storage(StoreRequest&& request);
  std::size_t unanswered_messages() const { return storing_ + waiting_for_ring_.size(); }

  void arm_accepts();  // every listener

  void arm_accept(unsigned listener);
  void arm_recv(Connection& c);
  void arm_wake();
  void wake();  // from any thread, after posting to the mailbox
  Connection* lookup(const UserData& ud);

  // SessionServices
  QueueId next_queue_id() override { return queue_ids_.next(); }
  std::int64_t now_us() override;
  bool accepting_messages() override;
  ContentBudget* content_budget() override { return content_budget_; }
  bool storage_has_room(const Session& session, std::uint64_t octets) override;
  bool storage_nearly_full() const;

  // SessionServices: rate limits, metrics and logs (reactor_events.cpp).
  bool admit_message(const Session& session) override;
  bool admit_recipient(const Session& session) override;
  void replied(ReplyTo to, unsigned code) override;
  void message_refused(const Session& session, const Envelope& envelope, unsigned code) override;
  void client_refused(const Session& session) override;
  bool admit_connection(Connection& c);
  void time_answer(Connection& c);
  void log_refused_connection(std::string_view client, std::string_view reason);
  void log_rate_limited(const Session& session, std::string_view limit);
  void log_connection_closed(const Connection& c);
  // A message handed to storage: its log line, written up to the outcome, waits under the
  // returned note (0: not logged) until the answer finishes it.
  std::uint32_t note_transaction(const Session& session, const Envelope& envelope,
                                 std::size_t size);
  void finish_transaction_note(std::uint32_t note, StorageResult result, std::int64_t store_us);

  const unsigned index_;
  const int cpu_;
  const ServerConfig& config_;
  ConnectionLimiter& limiter_;
  RuntimeConfig runtime_;
  std::shared_ptr<const tls::TicketKeys> tickets_;
  std::shared_ptr<const tls::TlsContexts> tls_;  // built here from runtime_.tls; null: no TLS
  ByteBuffer tls_plaintext_;  // what one received slice decrypted to, fed to its session
  QueueIdGenerator queue_ids_;
  StorageChannel* storage_;
  AuthVerifier* auth_;
  ContentBudget* content_budget_;  // owned by the server, which outlives every message
  StoreSpace* space_;              // null: nothing stored on a local file system
  std::size_t storing_ = 0;        // messages handed to the writer, not yet answered
  // Messages received whole while the ring was full, in the order they ended: they go in as
  // the writer's answers make room (at most one a connection, their content already held).
  std::deque<StoreRequest> waiting_for_ring_;
  bool staged_for_storage_ = false;
  std::vector<std::uint32_t> paused_for_storage_;  // slots not read until storage has room

  std::optional<Ring> ring_;
  std::optional<BufferRing> buffers_;
  std::vector<int> listeners_;
  std::vector<std::string> listener_names_;  // "address:port", formatted once
  std::vector<bool> accept_armed_;
  std::vector<bool> accept_retry_;
  int wake_fd_ = -1;
  std::uint64_t wake_value_ = 0;
  Mailbox mailbox_;

  std::vector<std::unique_ptr<Connection>> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint32_t> dirty_;
  std::uint32_t live_ = 0;       // open connections, SMTP and HTTP
  std::uint32_t http_live_ = 0;  // of which HTTP (metrics)

  std::int64_t now_ = 0;  // CLOCK_MONOTONIC seconds, read once per loop turn
  std::int64_t last_tick_ = 0;
  std::optional<TimerWheel> timers_;
  bool draining_ = false;
  std::int64_t drain_deadline_ = 0;

  ReactorMetrics metrics_;
  EventLog events_;
  RateLimiter rate_limiter_;
  std::vector<LineBuffer> transaction_notes_;  // indexed by note - 1
  std::vector<std::uint32_t> free_notes_;
  std::int64_t turn_ns_ = 0;           // CLOCK_MONOTONIC when this loop turn's completions arrived
  std::int64_t turn_unix_us_ = 0;      // CLOCK_REALTIME then, in µs (0 before the first turn)
  const ServerMetrics* metrics_page_;  // non-null on the reactor that serves HTTP
  unsigned metrics_listener_ = ~0u;    // its index in listeners_

 public:
  const ReactorMetrics& metrics() const { return metrics_; }
};

}  // namespace mxring::engine
