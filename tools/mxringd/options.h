// mxringd's configuration: the embedded defaults, a TOML file, and command-line flags that
// override the file (DESIGN.md command-line contract). Turned into the engine's ServerConfig.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mxring/engine/log.h"
#include "mxring/engine/server.h"

namespace mxring::tools {

struct ListenSpec {
  std::string address;
  std::uint16_t port = 0;
  engine::ListenerRole role = engine::ListenerRole::smtp;
  std::optional<engine::Durability> durability;  // [[listener]] in the file; else the global
  bool proxy = false;                            // ROLE+proxy: a PROXY header comes first
};

// The engine's own defaults, which the storage settings below take rather than repeat (a
// second copy here once kept an old default after the engine's had changed).
inline const engine::ServerConfig kEngineDefaults{};

struct Options {
  std::string config_file;
  std::string host_name;  // default: this machine's name (gethostname; no DNS)
  std::vector<ListenSpec> listen = {{"127.0.0.1", 2525, engine::ListenerRole::smtp, {}}};
  std::vector<std::string> domains = {"localhost"};
  std::string users_file;          // empty: every local part of the accepted domains
  std::string client_access_file;  // empty: every client may send mail
  std::string spool = "./var/spool";
  std::string maildir;  // empty: the spool
  engine::Durability durability = engine::Durability::fsync;
  unsigned threads = 0;
  unsigned writers = kEngineDefaults.writers;
  unsigned syncs_in_flight = kEngineDefaults.syncs_in_flight;
  std::size_t storage_ring = kEngineDefaults.storage_ring;
  std::uint64_t max_content_memory = kEngineDefaults.max_content_memory;  // 0: a quarter of RAM
  std::optional<std::uint64_t> min_free_space;  // unset: 1.5 × max_message_size
  std::uint64_t min_free_inodes = kEngineDefaults.min_free_inodes;
  std::uint64_t segment_size = kEngineDefaults.segment_size;
  std::uint64_t segment_age = static_cast<std::uint64_t>(kEngineDefaults.segment_age.count());
  // seconds; 0 keeps segments forever
  std::uint64_t retention = static_cast<std::uint64_t>(kEngineDefaults.retention.count());
  bool preallocate = kEngineDefaults.preallocate_segments;
  bool direct_io = kEngineDefaults.direct_io;
  std::string fault_writer_stall;
  bool pin_threads = true;
  std::uint16_t node_id = 0;
  engine::SessionLimits limits;
  std::uint32_t max_connections = 50'000;
  std::uint32_t max_connections_per_ip = 100;
  std::uint8_t client_ipv6_prefix = 84;
  std::uint32_t command_timeout = 300;
  std::uint32_t data_timeout = 180;
  std::uint32_t min_data_rate = 1024;
  std::uint32_t min_rate_grace = 30;
  std::uint32_t shutdown_grace = 30;
  std::uint32_t greet_delay = 0;
  std::uint32_t batch_wait_us = 400;
  std::vector<engine::TlsCertificateFiles> tls_certificates;  // --tls-cert/--tls-key pairs
  std::string tls_ciphers = engine::kDefaultTlsCiphers;
  std::string tls_min_version = "1.2";
  std::string auth_users;  // empty: AUTH not offered
  std::uint32_t auth_max_failures = 5;
  std::uint32_t auth_failure_window = 60;
  std::string log_level = "info";
  std::string log_format = "auto";  // auto: text on a terminal, JSON lines otherwise
  std::string log_file;             // empty: stderr
  std::uint32_t log_sample = 1;     // keep 1 in N info-level connection/transaction lines
  engine::RateLimits rate_limits;
  std::uint32_t auth_max_failures_per_network = 0;
  engine::KafkaOptions kafka;                // durability kafka
  std::vector<std::string> proxy_trusted;    // CIDRs allowed on +proxy listeners
  std::vector<std::string> xclient_trusted;  // CIDRs allowed to send XCLIENT
  std::string user, group;             // started as root: serve as this user (and group) once bound
  bool max_connections_given = false;  // by flag or file: never lowered to fit the fd limit
  bool max_message_size_given = false;  // by flag or file: never lowered to fit Kafka's limit
  std::string metrics;                  // ADDR:PORT for /metrics, /healthz, /readyz; empty: off
  bool chroot = false;                  // with --user: confined to the spool once started
  bool check_config = false;
};

// Parses argv (and the --config file it names). Returns nothing after printing help or an
// error; `exit_code` says how to leave.
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

// The effective configuration as TOML, the form --config reads.
std::string describe(const Options& options);

// What SIGHUP reloads, read from the files now: the users and client access files into one
// session context per listener, the certificates and keys. On error returns nothing and says why.
std::optional<engine::RuntimeConfig> build_runtime(const Options& options, std::string& error);

engine::ServerConfig server_config(const Options& options, engine::RuntimeConfig runtime);

// The log settings the options ask for (`auto` resolved against stderr).
engine::LogOptions log_options(const Options& options);

// What SIGHUP cannot change (listeners and their durability, storage, threads, timeouts,
// process settings): the names of the settings that differ, which take effect only after a
// restart. Every key --check-config prints counts, except the few a reload applies.
std::vector<std::string> restart_only_changes(const Options& running, const Options& fresh);

// What a reload runs with: `fresh`, with the listeners and durability mxringd started with.
// Their sockets are bound and their storage writers started (or not, for discard): a reloaded
// durability would otherwise promise in its 250 what no writer does.
Options reload_options(const Options& running, Options fresh);

}  // namespace mxring::tools
