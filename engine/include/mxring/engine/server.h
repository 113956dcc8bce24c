// The server: one reactor thread per core, each with its own io_uring, SO_REUSEPORT
// listeners, provided receive buffers and sessions. Started, reloaded and stopped from the
// thread that owns the process's signals.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mxring/engine/address_range.h"
#include "mxring/engine/credential_store.h"
#include "mxring/engine/kafka_producer.h"
#include "mxring/engine/session_config.h"
#include "mxring/engine/tls_certificates.h"

namespace mxring::engine {

// Per-client rate limits (Postfix's anvil rates, KumoMTA's throttles), per address and per
// network (IPv4 /24, IPv6 /64 by default), each counted over a fixed window that starts at
// the client's first event. Past a limit: 421 4.7.0 at connect, 450 4.7.1 at MAIL and RCPT.
struct RateLimits {
  enum Kind : std::uint8_t { connections, messages, recipients, kinds };
  std::array<std::uint32_t, kinds> per_address{};  // 0: no limit
  std::array<std::uint32_t, kinds> per_network{};
  std::uint8_t ipv4_prefix = 24;
  std::uint8_t ipv6_prefix = 64;
  std::chrono::seconds window{60};

  bool limits(Kind kind) const { return per_address[kind] > 0 || per_network[kind] > 0; }
  bool any() const { return limits(connections) || limits(messages) || limits(recipients); }
};

struct ListenerConfig {
  std::string address;  // numeric IPv4 or IPv6
  std::uint16_t port = 0;
  ListenerRole role = ListenerRole::smtp;
  std::shared_ptr<const SessionContext> context;
  // Every connection starts with a PROXY protocol header (v1 or v2) from a trusted
  // balancer (ServerConfig::proxy_trusted); connections from elsewhere are closed.
  bool proxy = false;
  // A socket already bound and listening, handed over by the service manager (systemd
  // socket activation), which keeps it across restarts: every reactor accepts on it (a
  // duplicate each) instead of binding its own. -1: the reactors bind the address.
  int inherited_fd = -1;
};

// What SIGHUP replaces. New connections use it; open ones keep what they started with.
struct RuntimeConfig {
  std::vector<std::shared_ptr<const SessionContext>> contexts;  // one per listener, in order
  std::shared_ptr<const TlsCertificates> tls;                   // null: no STARTTLS, no smtps
  std::shared_ptr<const CredentialStore> credentials;           // null: AUTH not offered
  RateLimits rate_limits;
};

struct ServerConfig {
  std::vector<ListenerConfig> listeners;
  std::shared_ptr<const TlsCertificates> tls;          // null: no TLS
  std::shared_ptr<const CredentialStore> credentials;  // null: no AUTH
  RateLimits rate_limits;
  // Failed AUTH attempts per client address (and per network) and window, then 454 4.7.0
  // until it ends.
  std::uint32_t auth_max_failures = 5;
  std::uint32_t auth_max_failures_per_network = 0;  // 0: no limit
  std::chrono::seconds auth_failure_window{60};
  unsigned threads = 0;  // reactors; 0: one per CPU this process may run on
  bool pin_threads = true;
  std::uint16_t node_id = 0;  // part of every queue id
  // Where fsync/none listeners store: <spool>/<writer>/<sequence>.seg (SPOOL-FORMAT.md).
  std::string spool;
  std::string maildir;  // non-empty: fsync/none listeners deliver here (one file a message)
  // Where kafka listeners deliver (each storage writer runs its own producer).
  std::optional<KafkaOptions> kafka;
  std::vector<AddressRange> proxy_trusted;    // who may connect to `proxy` listeners
  std::vector<AddressRange> xclient_trusted;  // who may send XCLIENT (Postfix's attributes)
  // HTTP: /metrics (Prometheus), /healthz, /readyz, served by the first reactor. Port 0: off.
  std::string metrics_address;
  std::uint16_t metrics_port = 0;
  int metrics_inherited_fd = -1;  // as ListenerConfig::inherited_fd
  unsigned writers = 0;           // storage writer threads; 0: one per reactor
  // fdatasyncs (or direct writes) each writer runs at once; 1: the writer runs it itself,
  // more: on sync threads (pipelined group commit)
  unsigned syncs_in_flight = 1;
  std::uint64_t segment_size = 64ull << 20;
  std::chrono::seconds segment_age{3600};
  std::chrono::seconds retention{0};  // spool_retention.h; 0 keeps every segment
  bool preallocate_segments = true;
  // Batches as O_DIRECT | O_DSYNC writes into segments zero-filled ahead, syncs_in_flight at
  // once, instead of pwritev + fdatasync (SpoolWriter). Needs a file system with direct I/O.
  bool direct_io = false;
  std::size_t storage_ring = 4096;  // messages in flight between a reactor and its writer
  // Octets of messages (content and recipients) all reactors together may hold
  // (content_budget.h); at least content_memory_needed() of every listener's limits. 0: a
  // quarter of usable_memory() (memory_limit.h), and no less than one largest message needs.
  std::uint64_t max_content_memory = 0;
  // Free space the spool's (or maildir's) file system keeps: below it, MAIL gets 452 4.3.1
  // (store_space.h). Unset: 1.5 × the largest max_message_size, Postfix's default rule.
  // 0: no floor (a full disk is still answered 452 4.3.1, at the end of the data).
  std::optional<std::uint64_t> min_free_space;
  // Free inodes the same file system keeps, where it counts them (store_space.h): a maildir
  // takes one a message. 0: no floor.
  std::uint64_t min_free_inodes = 1000;
  std::string fault_writer_stall_file;  // tests only: writers pause while this file exists

  std::uint32_t max_connections = 50'000;
  std::uint32_t max_connections_per_client = 100;  // 0: no per-address cap
  // What one client address is to every per-address cap and limit (connections, the
  // *-per-ip rates, AUTH failures): an IPv6 client counts by this network, since one host
  // has a whole /64 to connect from (Postfix 3.8's smtpd_client_ipv6_prefix_length, also
  // 84 by default). 128: each address alone.
  std::uint8_t client_ipv6_prefix = 84;

  // RFC 5321 §4.5.3.2: at least 5 minutes for commands, 3 for each DATA block.
  std::chrono::seconds command_timeout{300};
  std::chrono::seconds data_timeout{180};
  // Slowloris: content (DATA, or a BDAT transaction from its first chunk to its last) slower
  // than this on average, once it has lasted min_rate_grace, is cut.
  std::uint32_t min_data_rate = 1024;  // octets per second; 0: off
  std::chrono::seconds min_rate_grace{30};
  std::chrono::seconds shutdown_grace{30};
  // Postscreen's pregreet test: hold the greeting this long; a client that talks before it
  // (RFC 5321 §4.3.1 forbids it; spam engines do) gets 554 and is closed. 0: greet at once.
  std::chrono::seconds greet_delay{0};
  // Under load a reactor waits up to this long for more completions before it answers, so
  // one wake-up serves many connections. 0: answer every completion at once.
  std::chrono::microseconds batch_wait{400};

  // False: listen at start (connections wait in the kernel's backlog) but accept only after
  // serve(), so a server that drops root first never serves a client as root.
  bool accept_at_start = true;

  unsigned receive_buffers = 1024;       // per reactor, a power of two
  unsigned receive_buffer_size = 16384;  // octets
};

class Reactor;

class Server {
 public:
  // Starts every reactor and returns once all listen, or returns null with `error` set.
  static std::unique_ptr<Server> start(ServerConfig config, std::string& error);
  ~Server();

  // New sessions use this (SIGHUP reload); open ones keep theirs, so nothing is dropped.
  // The listeners stay as started: `runtime` holds one context per listener, in order, each
  // with the role and durability its listener started with (its socket is bound, its storage
  // writers started or not), and certificates while an smtps listener needs them. Anything
  // else is refused with `error` set, and nothing changes.
  bool reload(RuntimeConfig runtime, std::string& error);
  // Starts accepting, when ServerConfig::accept_at_start was false.
  void serve();
  // Stop accepting; finish open transactions for up to shutdown_grace; 421 to the rest.
  void shutdown();
  // Returns when every reactor has stopped.
  void wait();

  std::uint32_t open_connections() const;
  // Event-loop turns of the reactor that has made the fewest: it grows at least once a
  // second per reactor while every reactor is alive, so a stuck one stops it.
  std::uint64_t slowest_reactor_turns() const;

 private:
  struct State;
  explicit Server(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace mxring::engine
