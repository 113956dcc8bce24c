// Command line (CLI11) over a TOML file (toml11) over the embedded defaults.
#include "options.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <toml.hpp>
#include <utility>

#include "common/host_port.h"
#include "common/kafka_settings.h"
#include "mxring/engine/client_access.h"
#include "mxring/engine/file_text.h"
#include "mxring/engine/recipient_policy.h"

namespace mxring::tools {
namespace {

// The per-client rate limits, each a flag and a config key (Postfix's anvil rates).
struct RateSetting {
  const char* flag;
  const char* key;
  engine::RateLimits::Kind kind;
  bool per_network;
  const char* help;
};
constexpr std::array<RateSetting, 6> kRateSettings = {{
    {"--connection-rate-per-ip", "connection_rate_per_ip", engine::RateLimits::connections, false,
     "New connections per client address and --rate-window before 421 4.7.0; 0 (default) = no "
     "limit"},
    {"--connection-rate-per-net", "connection_rate_per_net", engine::RateLimits::connections, true,
     "... per client network (/24, /64)"},
    {"--message-rate-per-ip", "message_rate_per_ip", engine::RateLimits::messages, false,
     "MAIL commands per client address and window before 450 4.7.1; 0 = no limit"},
    {"--message-rate-per-net", "message_rate_per_net", engine::RateLimits::messages, true,
     "... per client network"},
    {"--recipient-rate-per-ip", "recipient_rate_per_ip", engine::RateLimits::recipients, false,
     "RCPT commands per client address and window before 450 4.7.1; 0 = no limit"},
    {"--recipient-rate-per-net", "recipient_rate_per_net", engine::RateLimits::recipients, true,
     "... per client network"},
}};

using engine::Durability;
using engine::ListenerRole;

std::optional<ListenerRole> role_of(const std::string& name) {
  if (name == "smtp") return ListenerRole::smtp;
  if (name == "submission") return ListenerRole::submission;
  if (name == "smtps") return ListenerRole::smtps;
  return std::nullopt;
}

std::optional<Durability> durability_of(const std::string& name) {
  if (name == "fsync") return Durability::fsync;
  if (name == "none") return Durability::none;
  if (name == "discard") return Durability::discard;
  if (name == "kafka") return Durability::kafka;
  return std::nullopt;
}

// ADDR:PORT[:ROLE[+proxy]], IPv6 in brackets: [::1]:2525:submission
ListenSpec parse_listen(const std::string& text) {
  const auto parsed = parse_host_port(text, "--listen");
  ListenSpec spec;
  spec.address = parsed.address;
  spec.port = parsed.port;
  if (parsed.more) {
    auto role = *parsed.more;
    if (role.ends_with("+proxy")) {
      spec.proxy = true;
      role.resize(role.size() - 6);
    }
    const auto known = role_of(role);
    if (!known) throw CLI::ValidationError("--listen", "role must be smtp, submission or smtps");
    spec.role = *known;
  }
  return spec;
}

// --tls-cert and --tls-key pair up in the order given (SNI picks among the pairs).
std::vector<engine::TlsCertificateFiles> certificate_pairs(const std::vector<std::string>& certs,
                                                           const std::vector<std::string>& keys) {
  if (certs.size() != keys.size())
    throw CLI::ValidationError("--tls-cert", "every --tls-cert needs its --tls-key, in order");
  std::vector<engine::TlsCertificateFiles> pairs;
  for (std::size_t i = 0; i < certs.size(); ++i) pairs.push_back({certs[i], keys[i]});
  return pairs;
}

std::string listen_text(const ListenSpec& spec) {
  const bool ipv6 = spec.address.find(':') != std::string::npos;
  return (ipv6 ? "[" + spec.address + "]" : spec.address) + ":" + std::to_string(spec.port) + ":" +
         std::string(engine::role_name(spec.role)) + (spec.proxy ? "+proxy" : "");
}

// A table of the TOML file as load_file reads it. Every key asked about is noted, so that a
// key never asked about (a misspelling, an option of another version) is refused by name
// instead of silently leaving its default in force; whole numbers are checked against the
// field they go into instead of wrapping (-5 is not 4294967291 connections).
class ConfigTable {
 public:
  explicit ConfigTable(const toml::value& table) : table_(table) {}

  bool has(const std::string& key) {
    asked_.insert(key);
    return table_.contains(key);
  }
  template <typename T>
  T get(const std::string& key) {
    asked_.insert(key);
    return toml::find<T>(table_, key);
  }
  template <typename T>
  T get_or(const std::string& key, T fallback) {
    return has(key) ? toml::find<T>(table_, key) : fallback;
  }
  const toml::value& value(const std::string& key) {
    asked_.insert(key);
    return toml::find(table_, key);
  }
  // `field` from the whole number under `key`, if there is one: 0 up to what `field` holds.
  template <typename Field>
  void number(const std::string& key, Field& field) {
    if (!has(key)) return;
    const auto n = toml::find<std::int64_t>(table_, key);
    const auto most = static_cast<std::uint64_t>(std::numeric_limits<Field>::max());
    if (n < 0 || static_cast<std::uint64_t>(n) > most)
      throw std::runtime_error(
          toml::format_error("[error] " + key + " is out of range", toml::find(table_, key),
                             "a whole number from 0 to " + std::to_string(most)));
    field = static_cast<Field>(n);
  }
  template <typename Field>
  void number(const std::string& key, std::optional<Field>& field) {
    if (!has(key)) return;
    Field n{};
    number(key, n);
    field = n;
  }
  // Throws, naming the first key of the table that was never asked about.
  void refuse_unknown(std::string_view what) const {
    for (const auto& [key, value] : table_.as_table())
      if (!asked_.contains(key))
        throw std::runtime_error(
            toml::format_error("[error] unknown " + std::string(what) + " setting " + key, value,
                               "mxringd has no such setting"));
  }

 private:
  const toml::value& table_;
  std::set<std::string> asked_;
};

void load_file(Options& o, const std::string& path) {
  const auto parsed = toml::parse(path);
  ConfigTable file(parsed);
  if (file.has("host_name")) o.host_name = file.get<std::string>("host_name");
  if (file.has("listen")) {
    o.listen.clear();
    for (const auto& l : file.get<std::vector<std::string>>("listen"))
      o.listen.push_back(parse_listen(l));
  }
  // [[listener]] tables: like `listen`, plus a durability of their own, e.g. a benchmark
  // sink on one port beside fsync on port 25.
  if (file.has("listener")) {
    if (file.has("listen")) throw CLI::ValidationError("listener", "use listen or [[listener]]");
    o.listen.clear();
    for (const auto& value : file.get<std::vector<toml::value>>("listener")) {
      ConfigTable table(value);
      auto spec = parse_listen(table.get<std::string>("address"));
      if (table.has("role")) {
        const auto role = role_of(table.get<std::string>("role"));
        if (!role) throw CLI::ValidationError("listener", "role must be smtp, submission or smtps");
        spec.role = *role;
      }
      if (table.has("durability")) {
        const auto d = durability_of(table.get<std::string>("durability"));
        if (!d)
          throw CLI::ValidationError("listener",
                                     "durability must be fsync, none, discard or kafka");
        spec.durability = d;
      }
      if (table.has("proxy")) spec.proxy = table.get<bool>("proxy");
      table.refuse_unknown("[[listener]]");
      o.listen.push_back(spec);
    }
  }
  if (file.has("domain")) o.domains = file.get<std::vector<std::string>>("domain");
  if (file.has("users")) o.users_file = file.get<std::string>("users");
  if (file.has("client_access")) o.client_access_file = file.get<std::string>("client_access");
  if (file.has("spool")) o.spool = file.get<std::string>("spool");
  if (file.has("maildir")) o.maildir = file.get<std::string>("maildir");
  if (file.has("durability")) {
    const auto d = durability_of(file.get<std::string>("durability"));
    if (!d) throw CLI::ValidationError("durability", "must be fsync, none, discard or kafka");
    o.durability = *d;
  }
  file.number("threads", o.threads);
  file.number("writers", o.writers);
  file.number("syncs_in_flight", o.syncs_in_flight);
  file.number("storage_ring", o.storage_ring);
  file.number("max_content_memory", o.max_content_memory);
  file.number("min_free_inodes", o.min_free_inodes);
  file.number("min_free_space", o.min_free_space);
  file.number("segment_size", o.segment_size);
  file.number("segment_age", o.segment_age);
  file.number("retention", o.retention);
  file.number("node_id", o.node_id);
  file.number("max_message_size", o.limits.max_message_size);
  file.number("max_recipients", o.limits.max_recipients);
  file.number("max_messages_per_connection", o.limits.max_messages);
  file.number("max_errors", o.limits.max_errors);
  file.number("max_junk_commands", o.limits.max_junk_commands);
  file.number("soft_error_limit", o.limits.soft_error_limit);
  file.number("error_sleep", o.limits.error_sleep_s);
  file.number("max_received_headers", o.limits.max_received_headers);
  file.number("max_connections", o.max_connections);
  file.number("max_connections_per_ip", o.max_connections_per_ip);
  file.number("command_timeout", o.command_timeout);
  file.number("data_timeout", o.data_timeout);
  file.number("min_data_rate", o.min_data_rate);
  file.number("min_rate_grace", o.min_rate_grace);
  file.number("shutdown_grace", o.shutdown_grace);
  file.number("greet_delay", o.greet_delay);
  file.number("batch_wait_us", o.batch_wait_us);
  if (file.has("preallocate")) o.preallocate = file.get<bool>("preallocate");
  if (file.has("direct_io")) o.direct_io = file.get<bool>("direct_io");
  if (file.has("reject_long_lines"))
    o.limits.reject_long_lines = file.get<bool>("reject_long_lines");
  if (file.has("forbid_improper_pipelining"))
    o.limits.forbid_improper_pipelining = file.get<bool>("forbid_improper_pipelining");
  if (file.has("log_level")) o.log_level = file.get<std::string>("log_level");
  if (file.has("log_format")) o.log_format = file.get<std::string>("log_format");
  if (file.has("log_file")) o.log_file = file.get<std::string>("log_file");
  file.number("log_sample", o.log_sample);
  for (const auto& rate : kRateSettings) {
    file.number(rate.key, (rate.per_network ? o.rate_limits.per_network
                                            : o.rate_limits.per_address)[rate.kind]);
  }
  file.number("rate_ipv4_prefix", o.rate_limits.ipv4_prefix);
  file.number("rate_ipv6_prefix", o.rate_limits.ipv6_prefix);
  if (std::uint32_t window = 0; file.has("rate_window")) {
    file.number("rate_window", window);
    o.rate_limits.window = std::chrono::seconds(window);
  }
  file.number("auth_max_failures_per_net", o.auth_max_failures_per_network);
  const auto certs = file.get_or<std::vector<std::string>>("tls_cert", {});
  const auto keys = file.get_or<std::vector<std::string>>("tls_key", {});
  if (!certs.empty() || !keys.empty()) o.tls_certificates = certificate_pairs(certs, keys);
  if (file.has("user")) o.user = file.get<std::string>("user");
  if (file.has("group")) o.group = file.get<std::string>("group");
  if (file.has("chroot")) o.chroot = file.get<bool>("chroot");
  o.max_connections_given = o.max_connections_given || file.has("max_connections");
  if (file.has("metrics")) o.metrics = file.get<std::string>("metrics");
  if (file.has("proxy_trusted"))
    o.proxy_trusted = file.get<std::vector<std::string>>("proxy_trusted");
  if (file.has("xclient_trusted"))
    o.xclient_trusted = file.get<std::vector<std::string>>("xclient_trusted");
  if (file.has("auth_users")) o.auth_users = file.get<std::string>("auth_users");
  file.number("auth_max_failures", o.auth_max_failures);
  file.number("auth_failure_window", o.auth_failure_window);
  if (file.has("tls_ciphers")) o.tls_ciphers = file.get<std::string>("tls_ciphers");
  if (file.has("tls_min_version")) o.tls_min_version = file.get<std::string>("tls_min_version");
  for (const std::string name : kKafkaSettingNames) {
    auto key = "kafka_" + name;
    std::replace(key.begin(), key.end(), '-', '_');
    if (!file.has(key)) continue;
    const auto& value = file.value(key);
    const auto as_text = [](const toml::value& v) {
      return v.is_integer() ? std::to_string(v.as_integer()) : v.as_string().str;
    };
    if (value.is_array()) {
      for (const auto& item : value.as_array()) set_kafka_setting(o.kafka, name, as_text(item));
    } else {
      set_kafka_setting(o.kafka, name, as_text(value));
    }
  }
  file.refuse_unknown("top-level");
}

void check_ranges(const std::vector<std::string>& ranges, const char* option) {
  for (const auto& range : ranges)
    if (!engine::AddressRange::parse(range))
      throw CLI::ValidationError(option, "not an address or CIDR range: " + range);
}

void check_log_and_rate_settings(const Options& o) {
  if (o.log_format != "auto" && o.log_format != "json" && o.log_format != "text")
    throw CLI::ValidationError("log_format", "must be auto, json or text");
  if (o.log_sample == 0) throw CLI::ValidationError("log_sample", "at least 1");
  if (o.rate_limits.ipv4_prefix > 32 || o.rate_limits.ipv6_prefix > 128)
    throw CLI::ValidationError("rate prefix", "IPv4 prefix 0-32, IPv6 prefix 0-128");
  if (o.rate_limits.window.count() <= 0) throw CLI::ValidationError("rate_window", "at least 1");
}

// Limits whose 0 would not lift the limit but refuse every client or message: all timed out
// at once, every message over SIZE (while EHLO's "SIZE 0" tells clients there is no fixed
// maximum, RFC 1870 §4), every RCPT or MAIL over LIMITS RCPTMAX or MAILMAX (RFC 9422).
void check_limits_allow_mail(const Options& o) {
  const std::pair<const char*, std::uint64_t> limits[] = {
      {"--max-message-size", o.limits.max_message_size},
      {"--max-recipients", o.limits.max_recipients},
      {"--max-messages-per-connection", o.limits.max_messages},
      {"--max-connections", o.max_connections},
      {"--command-timeout", o.command_timeout},
      {"--data-timeout", o.data_timeout},
  };
  for (const auto& [option, value] : limits)
    if (value == 0) throw CLI::ValidationError(option, "at least 1");
}

std::string machine_name() {
  char name[256] = "localhost";
  gethostname(name, sizeof name - 1);
  return name;
}

// A policy file's text; an empty path reads as an empty file.
bool read_policy_file(const std::string& path, std::string& text, std::string& error) {
  if (path.empty()) return true;
  auto read = engine::read_file_text(path);
  if (!read) {
    error = "cannot read " + path;
    return false;
  }
  text = std::move(*read);
  return true;
}

std::string policy_error_text(const std::string& source, const engine::PolicyError& e) {
  return source + (e.line ? ":" + std::to_string(e.line) : "") + ": " + e.message;
}

}  // namespace

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  Options o;
  CLI::App app{
      "mxringd: SMTP ingest server on io_uring. Flags override the --config file, which "
      "overrides the embedded defaults (127.0.0.1:2525, domain localhost, spool ./var/spool).",
      "mxringd"};
  app.set_help_flag("-h,--help", "Print this help and exit");
  std::string config_file;
  std::vector<std::string> listen, domains, tls_certs, tls_keys, proxy_trusted, xclient_trusted;
  std::string users, client_access, spool, maildir, durability, host_name, auth_users, metrics,
      log_level;
  std::string tls_ciphers, tls_min_version;
  unsigned threads = 0, writers = 0, storage_ring = 0, syncs_in_flight = 0;
  std::uint64_t segment_size = 0, segment_age = 0, retention = 0, max_content_memory = 0;
  std::uint64_t min_free_space = 0, min_free_inodes = 0;
  std::string fault_writer_stall;
  std::uint16_t node_id = 0;
  std::uint64_t max_message_size = 0;
  std::uint32_t auth_max_failures = 0, auth_failure_window = 0;
  std::uint32_t soft_error_limit = 0, error_sleep = 0;
  std::uint32_t max_recipients = 0, max_messages = 0, max_errors = 0, max_junk_commands = 0,
                max_received_headers = 0, max_connections = 0, max_per_ip = 0, command_timeout = 0,
                data_timeout = 0, min_data_rate = 0, shutdown_grace = 0, batch_wait_us = 0,
                min_rate_grace = 0, greet_delay = 0;
  bool no_pin = false, reject_long_lines = false, allow_improper_pipelining = false,
       no_preallocate = false, direct_io = false;

  app.add_option("--config", config_file, "TOML file with the same keys as the flags")
      ->check(CLI::ExistingFile);
  app.add_option("--listen", listen,
                 "ADDR:PORT[:ROLE] to listen on, ROLE smtp (default), submission or smtps; "
                 "IPv6 as [::1]:PORT; repeatable");
  app.add_option("--domain", domains, "Accepted recipient domain; repeatable");
  app.add_option("--users", users,
                 "Known local parts, one a line: names, name@domain or globs (rcpt-*, * = "
                 "catch-all); others get 550 5.1.1. Reloaded on SIGHUP")
      ->check(CLI::ExistingFile);
  app.add_option("--client-access", client_access,
                 "Client access table, one rule a line: RANGE permit, or RANGE reject [TEXT] "
                 "(RANGE an address or CIDR, IPv4 or IPv6). The first rule holding the client "
                 "decides, as in Postfix's cidr: tables; a refused client is greeted 554 5.7.1 "
                 "and served only QUIT. Reloaded on SIGHUP")
      ->check(CLI::ExistingFile);
  app.add_option("--spool", spool, "Spool directory");
  app.add_option("--maildir", maildir,
                 "Deliver into this maildir (one file a message) instead of the spool");
  app.add_option("--durability", durability,
                 "What 250 promises: fsync (default), none (page cache), discard (sink) or "
                 "kafka (the brokers acknowledged it; see --kafka-brokers)")
      ->check(CLI::IsMember({"fsync", "none", "discard", "kafka"}));
  app.add_option("--threads", threads, "Reactor threads (default: one per CPU allowed)");
  app.add_flag("--no-pin", no_pin, "Do not pin reactor threads to CPUs");
  app.add_option("--writers", writers, "Storage writer threads (default: one per reactor)");
  app.add_option(
      "--syncs-in-flight", syncs_in_flight,
      "fdatasyncs (or direct writes) each writer runs at once, default 1: the writer runs it "
      "itself; more run on sync threads (pipelined group commit)");
  app.add_option("--segment-size", segment_size,
                 "Spool segments rotate past this many octets, default 67108864");
  app.add_option("--segment-age", segment_age, "... or once this many seconds old, default 3600");
  app.add_option("--retention", retention,
                 "Delete spool segments this many seconds old that every registered cursor "
                 "has read past; 0 (default) keeps them");
  app.add_flag("--no-preallocate", no_preallocate,
               "Do not zero-fill spool segments ahead: grow each by appending (every "
               "fdatasync then also writes the file's size). By default a writer zero-fills "
               "its next segment while its fdatasyncs average 128 KiB or less; this is for "
               "disks too full for a whole segment, or file systems where writing zeros ahead "
               "costs too much");
  app.add_flag("--direct-io", direct_io,
               "Write each batch with O_DIRECT | O_DSYNC into segments zero-filled ahead, "
               "--syncs-in-flight at once, instead of write + fdatasync (ext4, XFS; not tmpfs)");
  app.add_option("--storage-ring", storage_ring,
                 "Messages in flight between a reactor and its writer, default 4096");
  app.add_option("--max-content-memory", max_content_memory,
                 "Octets of message content held in memory at once, all reactors together "
                 "(contents under 64 KiB not counted); a message finding no room is answered "
                 "452 4.3.1 at its end. Default: a quarter of physical memory");
  app.add_option("--min-free-space", min_free_space,
                 "Octets the spool's (or maildir's) file system keeps free: below that, or when "
                 "a message's SIZE would take it below, MAIL is answered 452 4.3.1 and /readyz "
                 "fails. Default: 1.5 x --max-message-size (Postfix's rule); 0: no floor");
  app.add_option("--min-free-inodes", min_free_inodes,
                 "Inodes the same file system keeps free, where it counts them (a maildir takes "
                 "one a message): below that, MAIL is answered 452 4.3.1 and /readyz fails. "
                 "Default 1000; 0: no floor");
  app.add_option("--fault-writer-stall", fault_writer_stall,
                 "Testing only: storage writers pause while this file exists");
  app.add_option("--host-name", host_name, "Name in the greeting and Received headers");
  app.add_option("--node-id", node_id, "Node number in queue ids (0-1023)");
  app.add_option("--max-message-size", max_message_size, "Octets (SIZE), default 52428800");
  app.add_option("--max-recipients", max_recipients, "Per message (RCPTMAX), default 1000");
  app.add_option("--max-messages-per-connection", max_messages, "MAILMAX, default 1000");
  app.add_option("--max-errors", max_errors,
                 "Errors since the last message stored before 421 and close, default 20");
  app.add_option("--soft-error-limit", soft_error_limit,
                 "Errors since the last message stored after which each reply is held back "
                 "--error-sleep seconds (Postfix's smtpd_soft_error_limit), default 10, 0 = never");
  app.add_option("--error-sleep", error_sleep,
                 "Seconds each reply past --soft-error-limit waits (Postfix's "
                 "smtpd_error_sleep_time), default 1, 0 = none");
  app.add_option("--max-junk-commands", max_junk_commands,
                 "NOOP, RSET, VRFY, EXPN and HELP commands since the last message stored "
                 "before each further one counts as an error (Postfix's "
                 "smtpd_junk_command_limit), default 100");
  app.add_option("--max-received-headers", max_received_headers,
                 "A message with this many Received header fields is refused as a mail loop "
                 "(554 5.4.6; RFC 5321 6.3), default 100; 0: no limit");
  app.add_flag("--reject-long-lines", reject_long_lines,
               "Refuse messages with lines over 998 octets (default: store them intact)");
  app.add_flag("--allow-improper-pipelining", allow_improper_pipelining,
               "Serve clients that send more behind EHLO, HELO, DATA, AUTH, NOOP, VRFY or EXPN "
               "before its answer (RFC 2920 3.1); by default they get 554 5.5.0 and are "
               "disconnected, as by Postfix's smtpd_forbid_unauth_pipelining");
  app.add_option("--max-connections", max_connections, "Open connections, default 50000");
  std::string user, group;
  app.add_option("--user", user,
                 "Started as root: bind, open the spool, then serve as this user (the spool is "
                 "given to it)");
  app.add_option("--group", group, "... and this group (default: the user's own)");
  bool chroot = false;
  app.add_flag("--chroot", chroot,
               "With --user: confine mxringd to its spool directory once it has started "
               "(SIGHUP then cannot re-read files outside it; restart to change settings)");
  app.add_option("--max-connections-per-ip", max_per_ip,
                 "Open connections per client address, default 100, 0 = no cap");
  app.add_option("--command-timeout", command_timeout, "Seconds, default 300 (RFC 5321)");
  app.add_option("--data-timeout", data_timeout, "Seconds per DATA block, default 180");
  app.add_option("--min-data-rate", min_data_rate,
                 "Octets/s a DATA phase must average once it has lasted --min-rate-grace "
                 "seconds (slowloris); default 1024, 0 = off");
  app.add_option("--min-rate-grace", min_rate_grace, "Seconds, default 30");
  app.add_option("--shutdown-grace", shutdown_grace,
                 "Seconds open transactions may finish after SIGTERM, default 30");
  app.add_option("--greet-delay", greet_delay,
                 "Seconds to hold the greeting; a client that talks first gets 554 (Postfix "
                 "postscreen's pregreet test). Default 0: greet at once");
  app.add_option("--batch-wait-us", batch_wait_us,
                 "Under load, wait up to this long for more events before answering, so one "
                 "wake-up serves many connections; default 400, 0 = off");
  app.add_option("--tls-cert", tls_certs,
                 "PEM certificate (and chain); repeatable, paired in order with --tls-key. "
                 "Enables STARTTLS and smtps listeners; SNI picks among the pairs")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_keys, "PEM private key (ECDSA or RSA) of each --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-ciphers", tls_ciphers,
                 "wolfSSL cipher list; default AEAD only, ChaCha20-Poly1305 first");
  app.add_option("--tls-min-version", tls_min_version, "1.2 (default) or 1.3")
      ->check(CLI::IsMember({"1.2", "1.3"}));
  app.add_option("--auth-users", auth_users,
                 "Submission credentials, lines user:hash ($6$, $y$ or $argon2id$; `mxring "
                 "passwd` makes one). AUTH is offered on submission/smtps after TLS. Reloaded on "
                 "SIGHUP")
      ->check(CLI::ExistingFile);
  app.add_option("--auth-max-failures", auth_max_failures,
                 "Failed AUTH attempts per client address and window before 454, default 5, "
                 "0 = no limit");
  app.add_option("--auth-failure-window", auth_failure_window, "Seconds, default 60");
  std::map<std::string, std::vector<std::string>> kafka;
  add_kafka_flags(app, kafka);
  app.add_option("--metrics", metrics,
                 "ADDR:PORT serving /metrics (Prometheus), /healthz and /readyz over HTTP");
  app.add_option("--proxy-trusted", proxy_trusted,
                 "CIDR allowed to send PROXY headers to +proxy listeners (others are refused); "
                 "repeatable");
  app.add_option("--xclient-trusted", xclient_trusted,
                 "CIDR whose clients may send XCLIENT (Postfix's attributes) to say who their "
                 "own client is; repeatable");
  app.add_option("--log-level", log_level,
                 "debug, info (default: a line per connection and per transaction), warning "
                 "(problems only) or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  std::string log_format, log_file;
  std::uint32_t log_sample = 0;
  app.add_option("--log-format", log_format,
                 "json (one object a line), text, or auto (default: text on a terminal, else json)")
      ->check(CLI::IsMember({"auto", "json", "text"}));
  app.add_option("--log-file", log_file,
                 "Append the log here instead of stderr; opened again on SIGHUP (log rotation)");
  app.add_option("--log-sample", log_sample,
                 "Keep 1 in N info-level connection and transaction lines (problems are always "
                 "logged); default 1")
      ->check(CLI::PositiveNumber);
  std::array<std::uint32_t, kRateSettings.size()> rates{};
  for (std::size_t i = 0; i < kRateSettings.size(); ++i)
    app.add_option(kRateSettings[i].flag, rates[i], kRateSettings[i].help);
  std::uint32_t rate_window = 0, auth_failures_per_net = 0;
  std::uint8_t rate_v4 = 0, rate_v6 = 0;
  app.add_option("--rate-window", rate_window,
                 "Seconds each rate limit counts over, from a client's first event; default 60");
  app.add_option("--rate-ipv4-prefix", rate_v4, "IPv4 network of the *-per-net limits, default 24");
  app.add_option("--rate-ipv6-prefix", rate_v6, "IPv6 network of the *-per-net limits, default 64");
  app.add_option("--auth-max-failures-per-net", auth_failures_per_net,
                 "Failed AUTH attempts per client network and window before 454, 0 (default) = "
                 "no limit");
  app.add_flag("--check-config", o.check_config, "Validate, print the effective config, exit");

  try {
    app.parse(argc, argv);
    if (!config_file.empty()) {
      o.config_file = config_file;
      load_file(o, config_file);
    }
    if (!listen.empty()) {
      o.listen.clear();
      for (const auto& l : listen) o.listen.push_back(parse_listen(l));
    }
    if (!domains.empty()) o.domains = domains;
    if (!users.empty()) o.users_file = users;
    if (!client_access.empty()) o.client_access_file = client_access;
    if (!spool.empty()) o.spool = spool;
    if (!maildir.empty()) o.maildir = maildir;
    if (!durability.empty()) o.durability = *durability_of(durability);
    if (app.count("--threads")) o.threads = threads;
    if (app.count("--writers")) o.writers = writers;
    if (app.count("--syncs-in-flight")) o.syncs_in_flight = syncs_in_flight;
    if (o.syncs_in_flight < 1 || o.syncs_in_flight > 64)
      throw CLI::ValidationError("--syncs-in-flight", "1 to 64");
    if (app.count("--storage-ring")) o.storage_ring = storage_ring;
    if (o.storage_ring < 4) throw CLI::ValidationError("--storage-ring", "at least 4");
    if (app.count("--max-content-memory")) o.max_content_memory = max_content_memory;
    if (app.count("--min-free-space")) o.min_free_space = min_free_space;
    if (app.count("--min-free-inodes")) o.min_free_inodes = min_free_inodes;
    if (app.count("--segment-size")) o.segment_size = segment_size;
    if (app.count("--segment-age")) o.segment_age = segment_age;
    if (app.count("--retention")) o.retention = retention;
    if (!fault_writer_stall.empty()) o.fault_writer_stall = fault_writer_stall;
    if (no_pin) o.pin_threads = false;
    if (no_preallocate) o.preallocate = false;
    if (direct_io) o.direct_io = true;
    if (!host_name.empty()) o.host_name = host_name;
    if (app.count("--node-id")) o.node_id = node_id;
    if (app.count("--max-message-size")) o.limits.max_message_size = max_message_size;
    if (app.count("--max-recipients")) o.limits.max_recipients = max_recipients;
    if (app.count("--max-messages-per-connection")) o.limits.max_messages = max_messages;
    if (app.count("--max-errors")) o.limits.max_errors = max_errors;
    if (app.count("--max-junk-commands")) o.limits.max_junk_commands = max_junk_commands;
    if (app.count("--soft-error-limit")) o.limits.soft_error_limit = soft_error_limit;
    if (app.count("--error-sleep")) o.limits.error_sleep_s = error_sleep;
    if (o.limits.error_sleep_s > 60)
      throw CLI::ValidationError("--error-sleep", "at most 60 seconds");
    if (app.count("--max-received-headers")) o.limits.max_received_headers = max_received_headers;
    if (reject_long_lines) o.limits.reject_long_lines = true;
    if (allow_improper_pipelining) o.limits.forbid_improper_pipelining = false;
    if (app.count("--max-connections")) o.max_connections = max_connections;
    o.max_connections_given = o.max_connections_given || app.count("--max-connections") > 0;
    if (!user.empty()) o.user = user;
    if (!group.empty()) o.group = group;
    if (!o.group.empty() && o.user.empty())
      throw CLI::ValidationError("--group", "only with --user");
    if (chroot) o.chroot = true;
    if (o.chroot && o.user.empty()) throw CLI::ValidationError("--chroot", "only with --user");
    // Inside the spool there is no resolver configuration and no maildir elsewhere.
    bool kafka_listener = o.durability == engine::Durability::kafka;
    for (const auto& l : o.listen)
      kafka_listener = kafka_listener || l.durability == engine::Durability::kafka;
    if (o.chroot && (kafka_listener || !o.maildir.empty()))
      throw CLI::ValidationError("--chroot", "not with --maildir or kafka durability");
    if (app.count("--max-connections-per-ip")) o.max_connections_per_ip = max_per_ip;
    if (app.count("--command-timeout")) o.command_timeout = command_timeout;
    if (app.count("--data-timeout")) o.data_timeout = data_timeout;
    if (app.count("--min-data-rate")) o.min_data_rate = min_data_rate;
    if (app.count("--min-rate-grace")) o.min_rate_grace = min_rate_grace;
    if (app.count("--shutdown-grace")) o.shutdown_grace = shutdown_grace;
    if (app.count("--greet-delay")) o.greet_delay = greet_delay;
    if (o.greet_delay > 60) throw CLI::ValidationError("--greet-delay", "at most 60 seconds");
    if (app.count("--batch-wait-us")) o.batch_wait_us = batch_wait_us;
    if (o.batch_wait_us >= 1'000'000)
      throw CLI::ValidationError("--batch-wait-us", "must be under one second");
    if (!log_level.empty()) o.log_level = log_level;
    if (!log_format.empty()) o.log_format = log_format;
    if (!log_file.empty()) o.log_file = log_file;
    if (app.count("--log-sample")) o.log_sample = log_sample;
    for (std::size_t i = 0; i < kRateSettings.size(); ++i) {
      if (app.count(kRateSettings[i].flag) == 0) continue;
      (kRateSettings[i].per_network ? o.rate_limits.per_network
                                    : o.rate_limits.per_address)[kRateSettings[i].kind] = rates[i];
    }
    if (app.count("--rate-window")) o.rate_limits.window = std::chrono::seconds(rate_window);
    if (app.count("--rate-ipv4-prefix")) o.rate_limits.ipv4_prefix = rate_v4;
    if (app.count("--rate-ipv6-prefix")) o.rate_limits.ipv6_prefix = rate_v6;
    if (app.count("--auth-max-failures-per-net"))
      o.auth_max_failures_per_network = auth_failures_per_net;
    check_log_and_rate_settings(o);
    check_limits_allow_mail(o);
    if (!tls_certs.empty() || !tls_keys.empty())
      o.tls_certificates = certificate_pairs(tls_certs, tls_keys);
    if (!tls_ciphers.empty()) o.tls_ciphers = tls_ciphers;
    if (!auth_users.empty()) o.auth_users = auth_users;
    if (app.count("--auth-max-failures")) o.auth_max_failures = auth_max_failures;
    if (app.count("--auth-failure-window")) o.auth_failure_window = auth_failure_window;
    if (!proxy_trusted.empty()) o.proxy_trusted = proxy_trusted;
    if (!xclient_trusted.empty()) o.xclient_trusted = xclient_trusted;
    check_ranges(o.xclient_trusted, "--xclient-trusted");
    if (!metrics.empty()) o.metrics = metrics;
    if (!o.metrics.empty()) parse_host_port(o.metrics, "--metrics");  // throws when malformed
    check_ranges(o.proxy_trusted, "--proxy-trusted");
    for (const auto& l : o.listen)
      if (l.proxy && o.proxy_trusted.empty())
        throw CLI::ValidationError("--proxy-trusted",
                                   "listener " + listen_text(l) +
                                       " takes PROXY headers: say which balancers may send them");
    apply_kafka_flags(kafka, o.kafka);
    if (!tls_min_version.empty()) o.tls_min_version = tls_min_version;
    if (o.tls_min_version != "1.2" && o.tls_min_version != "1.3")
      throw CLI::ValidationError("tls_min_version", "must be 1.2 or 1.3");
    if (o.host_name.empty()) o.host_name = machine_name();
    if (o.node_id > 1023) throw CLI::ValidationError("--node-id", "must be 0-1023");
    if (o.listen.empty()) throw CLI::ValidationError("--listen", "at least one listener");
    if (o.domains.empty()) throw CLI::ValidationError("--domain", "at least one domain");
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  } catch (const std::exception& e) {  // toml11 reports file errors with the line
    std::cerr << "mxringd: " << e.what() << "\n";
    exit_code = 2;
    return std::nullopt;
  }
  return o;
}

std::string describe(const Options& o) {
  std::ostringstream out;
  const auto list = [](const std::vector<std::string>& items) {
    std::string s = "[";
    for (std::size_t i = 0; i < items.size(); ++i)
      s += (i ? ", " : "") + toml::format(toml::value(items[i]));
    return s + "]";
  };
  std::vector<std::string> listen;
  bool own_durability = false;
  for (const auto& l : o.listen) {
    listen.push_back(listen_text(l));
    own_durability = own_durability || l.durability.has_value();
  }
  out << "host_name = " << toml::value(o.host_name) << "\n"
      << (own_durability ? "" : "listen = " + list(listen) + "\n") << "domain = " << list(o.domains)
      << "\n"
      << "users = " << toml::value(o.users_file) << "\n"
      << "client_access = " << toml::value(o.client_access_file) << "\n"
      << "spool = " << toml::value(o.spool) << "\n"
      << "maildir = " << toml::value(o.maildir) << "\n"
      << "durability = \"" << engine::durability_name(o.durability) << "\"\n"
      << "threads = " << o.threads << "\n"
      << "writers = " << o.writers << "\n"
      << "syncs_in_flight = " << o.syncs_in_flight << "\n"
      << "storage_ring = " << o.storage_ring << "\n"
      << "max_content_memory = " << o.max_content_memory << "\n"
      << (o.min_free_space ? "min_free_space = " + std::to_string(*o.min_free_space) + "\n" : "")
      << "min_free_inodes = " << o.min_free_inodes << "\n"
      << "segment_size = " << o.segment_size << "\n"
      << "segment_age = " << o.segment_age << "\n"
      << "retention = " << o.retention << "\n"
      << "preallocate = " << (o.preallocate ? "true" : "false") << "\n"
      << "direct_io = " << (o.direct_io ? "true" : "false") << "\n"
      << "node_id = " << o.node_id << "\n"
      << "max_message_size = " << o.limits.max_message_size << "\n"
      << "max_recipients = " << o.limits.max_recipients << "\n"
      << "max_messages_per_connection = " << o.limits.max_messages << "\n"
      << "max_errors = " << o.limits.max_errors << "\n"
      << "max_junk_commands = " << o.limits.max_junk_commands << "\n"
      << "soft_error_limit = " << o.limits.soft_error_limit << "\n"
      << "error_sleep = " << o.limits.error_sleep_s << "\n"
      << "max_received_headers = " << o.limits.max_received_headers << "\n"
      << "reject_long_lines = " << (o.limits.reject_long_lines ? "true" : "false") << "\n"
      << "forbid_improper_pipelining = " << (o.limits.forbid_improper_pipelining ? "true" : "false")
      << "\n"
      << "max_connections = " << o.max_connections << "\n"
      << "max_connections_per_ip = " << o.max_connections_per_ip << "\n"
      << "command_timeout = " << o.command_timeout << "\n"
      << "data_timeout = " << o.data_timeout << "\n"
      << "min_data_rate = " << o.min_data_rate << "\n"
      << "min_rate_grace = " << o.min_rate_grace << "\n"
      << "shutdown_grace = " << o.shutdown_grace << "\n"
      << "greet_delay = " << o.greet_delay << "\n"
      << "batch_wait_us = " << o.batch_wait_us << "\n"
      << "log_level = \"" << o.log_level << "\"\n"
      << "log_format = \"" << o.log_format << "\"\n"
      << "log_file = " << toml::value(o.log_file) << "\n"
      << "log_sample = " << o.log_sample << "\n";
  for (const auto& rate : kRateSettings)
    out << rate.key << " = "
        << (rate.per_network ? o.rate_limits.per_network : o.rate_limits.per_address)[rate.kind]
        << "\n";
  out << "rate_window = " << o.rate_limits.window.count() << "\n"
      << "rate_ipv4_prefix = " << unsigned{o.rate_limits.ipv4_prefix} << "\n"
      << "rate_ipv6_prefix = " << unsigned{o.rate_limits.ipv6_prefix} << "\n"
      << "auth_max_failures_per_net = " << o.auth_max_failures_per_network << "\n";
  std::vector<std::string> certs, keys;
  for (const auto& pair : o.tls_certificates) {
    certs.push_back(pair.certificate);
    keys.push_back(pair.key);
  }
  out << "tls_cert = " << list(certs) << "\n"
      << "tls_key = " << list(keys) << "\n"
      << "tls_ciphers = " << toml::value(o.tls_ciphers) << "\n"
      << "tls_min_version = " << toml::value(o.tls_min_version) << "\n"
      << "proxy_trusted = " << list(o.proxy_trusted) << "\n"
      << "xclient_trusted = " << list(o.xclient_trusted) << "\n"
      << "metrics = " << toml::value(o.metrics) << "\n"
      << "user = " << toml::value(o.user) << "\n"
      << "group = " << toml::value(o.group) << "\n"
      << "chroot = " << (o.chroot ? "true" : "false") << "\n"
      << "auth_users = " << toml::value(o.auth_users) << "\n"
      << "auth_max_failures = " << o.auth_max_failures << "\n"
      << "auth_failure_window = " << o.auth_failure_window << "\n"
      << describe_kafka(o.kafka);
  if (own_durability) {  // tables come after every plain key in TOML
    for (const auto& l : o.listen) {
      const auto text = listen_text(l);
      out << "\n[[listener]]\naddress = " << toml::value(text.substr(0, text.rfind(':')))
          << "\nrole = \"" << engine::role_name(l.role) << "\"\ndurability = \""
          << engine::durability_name(l.durability.value_or(o.durability)) << "\"\n"
          << (l.proxy ? "proxy = true\n" : "");
    }
  }
  return out.str();
}

std::optional<engine::RuntimeConfig> build_runtime(const Options& o, std::string& error) {
  engine::RuntimeConfig runtime;
  if (!o.tls_certificates.empty()) {
    engine::TlsOptions tls;
    tls.certificates = o.tls_certificates;
    tls.ciphers = o.tls_ciphers;
    tls.allow_tls12 = o.tls_min_version == "1.2";
    runtime.tls = engine::TlsCertificates::load(tls, error);
    if (!runtime.tls) return std::nullopt;
  }
  if (!o.auth_users.empty()) {
    runtime.credentials = engine::CredentialStore::load(o.auth_users, error);
    if (!runtime.credentials) return std::nullopt;
  }
  std::string users, access_table;
  if (!read_policy_file(o.users_file, users, error) ||
      !read_policy_file(o.client_access_file, access_table, error))
    return std::nullopt;
  auto built = engine::RecipientPolicy::build(o.domains, users);
  if (const auto* e = std::get_if<engine::PolicyError>(&built)) {
    error = policy_error_text(o.users_file.empty() ? "domains" : o.users_file, *e);
    return std::nullopt;
  }
  auto policy =
      std::make_shared<const engine::RecipientPolicy>(std::get<engine::RecipientPolicy>(built));
  std::shared_ptr<const engine::ClientAccess> access;
  if (!o.client_access_file.empty()) {
    auto table = engine::ClientAccess::build(access_table);
    if (const auto* e = std::get_if<engine::PolicyError>(&table)) {
      error = policy_error_text(o.client_access_file, *e);
      return std::nullopt;
    }
    access = std::make_shared<const engine::ClientAccess>(std::get<engine::ClientAccess>(table));
  }
  for (const auto& l : o.listen) {
    engine::SessionConfig config;
    config.host_name = o.host_name;
    config.role = l.role;
    config.durability = l.durability.value_or(o.durability);
    config.limits = o.limits;
    config.recipients = policy;
    config.client_access = access;
    // RFC 3207 on smtp and submission; smtps is TLS from the first byte (RFC 8314).
    config.starttls_available = runtime.tls != nullptr && l.role != ListenerRole::smtps;
    config.auth_available = runtime.credentials != nullptr;
    runtime.contexts.push_back(engine::SessionContext::make(std::move(config)));
  }
  runtime.rate_limits = o.rate_limits;
  return runtime;
}

engine::LogOptions log_options(const Options& o) {
  engine::LogOptions log;
  log.path = o.log_file;
  const bool terminal = o.log_file.empty() && isatty(STDERR_FILENO);
  log.format = o.log_format == "text" || (o.log_format == "auto" && terminal)
                   ? engine::LogFormat::text
                   : engine::LogFormat::json;
  log.level = o.log_level == "debug"     ? engine::Level::debug
              : o.log_level == "warning" ? engine::Level::warning
              : o.log_level == "error"   ? engine::Level::error
                                         : engine::Level::info;
  log.sample = o.log_sample;
  return log;
}

engine::ServerConfig server_config(const Options& o, engine::RuntimeConfig runtime) {
  engine::ServerConfig config;
  for (std::size_t i = 0; i < o.listen.size(); ++i)
    config.listeners.push_back({o.listen[i].address, o.listen[i].port, o.listen[i].role,
                                std::move(runtime.contexts[i]), o.listen[i].proxy});
  if (!o.metrics.empty()) {
    const auto metrics = parse_host_port(o.metrics, "--metrics");
    config.metrics_address = metrics.address;
    config.metrics_port = metrics.port;
  }
  for (const auto& text : o.proxy_trusted)
    config.proxy_trusted.push_back(*engine::AddressRange::parse(text));  // checked when parsed
  for (const auto& text : o.xclient_trusted)
    config.xclient_trusted.push_back(*engine::AddressRange::parse(text));
  config.tls = std::move(runtime.tls);
  config.credentials = std::move(runtime.credentials);
  config.auth_max_failures = o.auth_max_failures;
  config.auth_max_failures_per_network = o.auth_max_failures_per_network;
  config.rate_limits = runtime.rate_limits;
  config.auth_failure_window = std::chrono::seconds(o.auth_failure_window);
  config.threads = o.threads;
  config.pin_threads = o.pin_threads;
  config.node_id = o.node_id;
  config.spool = o.spool;
  config.maildir = o.maildir;
  config.preallocate_segments = o.preallocate;
  config.direct_io = o.direct_io;
  config.writers = o.writers;
  config.syncs_in_flight = o.syncs_in_flight;
  config.storage_ring = o.storage_ring;
  config.max_content_memory = o.max_content_memory;
  config.min_free_space = o.min_free_space;
  config.min_free_inodes = o.min_free_inodes;
  config.segment_size = o.segment_size;
  config.segment_age = std::chrono::seconds(o.segment_age);
  config.kafka = o.kafka;
  config.retention = std::chrono::seconds(o.retention);
  config.fault_writer_stall_file = o.fault_writer_stall;
  config.max_connections = o.max_connections;
  config.max_connections_per_client = o.max_connections_per_ip;
  config.command_timeout = std::chrono::seconds(o.command_timeout);
  config.data_timeout = std::chrono::seconds(o.data_timeout);
  config.min_data_rate = o.min_data_rate;
  config.min_rate_grace = std::chrono::seconds(o.min_rate_grace);
  config.shutdown_grace = std::chrono::seconds(o.shutdown_grace);
  config.greet_delay = std::chrono::seconds(o.greet_delay);
  config.batch_wait = std::chrono::microseconds(o.batch_wait_us);
  return config;
}

std::vector<std::string> restart_only_changes(const Options& running, const Options& fresh) {
  std::vector<std::string> changed;
  const auto check = [&](const char* name, const auto& a, const auto& b) {
    if (!(a == b)) changed.push_back(name);
  };
  std::vector<std::string> listen_a, listen_b;
  for (const auto& l : running.listen) listen_a.push_back(listen_text(l));
  for (const auto& l : fresh.listen) listen_b.push_back(listen_text(l));
  check("listen", listen_a, listen_b);
  check("spool", running.spool, fresh.spool);
  check("maildir", running.maildir, fresh.maildir);
  check("durability", running.durability, fresh.durability);
  check("threads", running.threads, fresh.threads);
  check("writers", running.writers, fresh.writers);
  check("syncs_in_flight", running.syncs_in_flight, fresh.syncs_in_flight);
  check("storage_ring", running.storage_ring, fresh.storage_ring);
  check("max_content_memory", running.max_content_memory, fresh.max_content_memory);
  check("min_free_space", running.min_free_space, fresh.min_free_space);
  check("min_free_inodes", running.min_free_inodes, fresh.min_free_inodes);
  check("segment_size", running.segment_size, fresh.segment_size);
  check("segment_age", running.segment_age, fresh.segment_age);
  check("retention", running.retention, fresh.retention);
  check("node_id", running.node_id, fresh.node_id);
  check("max_connections", running.max_connections, fresh.max_connections);
  check("max_connections_per_ip", running.max_connections_per_ip, fresh.max_connections_per_ip);
  check("command_timeout", running.command_timeout, fresh.command_timeout);
  check("data_timeout", running.data_timeout, fresh.data_timeout);
  check("greet_delay", running.greet_delay, fresh.greet_delay);
  check("metrics", running.metrics, fresh.metrics);
  check("proxy_trusted", running.proxy_trusted, fresh.proxy_trusted);
  check("xclient_trusted", running.xclient_trusted, fresh.xclient_trusted);
  check("user", running.user, fresh.user);
  check("group", running.group, fresh.group);
  check("chroot", running.chroot, fresh.chroot);
  check("kafka", describe_kafka(running.kafka), describe_kafka(fresh.kafka));
  check("auth_max_failures", running.auth_max_failures, fresh.auth_max_failures);
  check("auth_failure_window", running.auth_failure_window, fresh.auth_failure_window);
  check("auth_max_failures_per_net", running.auth_max_failures_per_network,
        fresh.auth_max_failures_per_network);
  return changed;
}

}  // namespace mxring::tools
