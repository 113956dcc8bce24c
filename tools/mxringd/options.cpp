// Command line (CLI11) over a TOML file (toml11) over the embedded defaults.
#include "options.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <iostream>
#include <utility>

#include "common/host_port.h"
#include "common/kafka_settings.h"
#include "common/whole_number.h"
#include "config_file.h"
#include "mxring/engine/client_access.h"
#include "mxring/engine/content_budget.h"
#include "mxring/engine/kafka_producer.h"
#include "mxring/engine/queue_id_generator.h"
#include "mxring/parser/path.h"
#include "option_values.h"

namespace mxring::tools {
namespace {

void check_ranges(const std::vector<std::string>& ranges, const char* option) {
  for (const auto& range : ranges)
    if (!engine::AddressRange::parse(range))
      throw CLI::ValidationError(option, "not an address or CIDR range: " + range);
}

void check_log_and_rate_settings(const Options& o) {
  if (o.log_level != "debug" && o.log_level != "info" && o.log_level != "warning" &&
      o.log_level != "error")
    throw CLI::ValidationError("log_level", "must be debug, info, warning or error");
  if (o.log_format != "auto" && o.log_format != "json" && o.log_format != "text")
    throw CLI::ValidationError("log_format", "must be auto, json or text");
  if (o.log_sample == 0) throw CLI::ValidationError("log_sample", "at least 1");
  if (o.rate_limits.ipv4_prefix > 32 || o.rate_limits.ipv6_prefix > 128)
    throw CLI::ValidationError("rate prefix", "IPv4 prefix 0-32, IPv6 prefix 0-128");
  if (o.client_ipv6_prefix > 128) throw CLI::ValidationError("--client-ipv6-prefix", "0 to 128");
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

// The largest segment and the largest message: the commit marker keeps offsets in a segment
// below 2^40 (SPOOL-FORMAT.md §5), and a segment may pass its size by one batch or record.
void check_at_most_256_gib(const char* flag, std::uint64_t value) {
  if (value > std::uint64_t{256} << 30)
    throw CLI::ValidationError(flag, "at most 256 GiB (274877906944)");
}

// A message is held in memory whole before it is stored, within --max-content-memory, and
// stored as one spool record.
void check_message_fits(const Options& o) {
  check_at_most_256_gib("--max-message-size", o.limits.max_message_size);
  const auto needed = engine::content_memory_needed(o.limits);
  // Smaller, a message near the limits would be answered 452 every time it is sent.
  if (o.max_content_memory != 0 && o.max_content_memory < needed)
    throw CLI::ValidationError("--max-content-memory",
                               "must hold one message of --max-message-size and "
                               "--max-recipients: at least " +
                                   std::to_string(needed));
}

// With kafka durability a message travels as one Kafka message, its key and envelope headers
// counted with its octets against the producer's message.max.bytes (librdkafka's default:
// 1,000,000); one over it can never be sent. SIZE must not promise more: by default it is
// lowered to message.max.bytes less kKafkaEnvelopeRoom, and a --max-message-size past that
// is refused. (A message whose envelope takes more than that room gets 552 5.3.4.)
constexpr std::uint64_t kKafkaEnvelopeRoom = 64 << 10;

void fit_message_size_to_kafka(Options& o) {
  std::string error;
  const auto most = engine::kafka_max_message_bytes(o.kafka, error);
  if (!most) throw CLI::ValidationError("--kafka-option", error);
  if (*most <= kKafkaEnvelopeRoom)
    throw CLI::ValidationError("--kafka-option", "message.max.bytes " + std::to_string(*most) +
                                                     " leaves no room for a message beside "
                                                     "its envelope headers (" +
                                                     std::to_string(kKafkaEnvelopeRoom) + ")");
  const auto allowed = *most - kKafkaEnvelopeRoom;
  if (!o.max_message_size_given) {
    o.limits.max_message_size = std::min(o.limits.max_message_size, allowed);
  } else if (o.limits.max_message_size > allowed) {
    throw CLI::ValidationError(
        "--max-message-size",
        std::to_string(o.limits.max_message_size) +
            " is more than kafka durability can carry: the producer's message.max.bytes (" +
            std::to_string(*most) + ") less " + std::to_string(kKafkaEnvelopeRoom) +
            " for the envelope headers is " + std::to_string(allowed) + "; " +
            std::string(engine::kKafkaSizeAdvice) + ", or lower --max-message-size");
  }
}

bool is_host_name(std::string_view name) {
  return parser::is_valid_domain(name, false) || parser::is_valid_address_literal(name);
}

// The default host name. A machine named outside what a domain may hold (an underscore, a
// container's odd name) is "localhost" to SMTP rather than a server that will not start;
// --check-config shows which.
std::string machine_name() {
  char name[256] = "localhost";
  gethostname(name, sizeof name - 1);
  return is_host_name(name) ? name : "localhost";
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
                 "Spool segments rotate past this many octets (4096 to 256 GiB; 1 GiB at most "
                 "for a segment zero-filled ahead), default 67108864")
      ->check(kWholeNumber);
  app.add_option("--segment-age", segment_age, "... or once this many seconds old, default 3600")
      ->check(kWholeNumber);
  app.add_option("--retention", retention,
                 "Delete spool segments this many seconds old that every registered cursor "
                 "has read past; 0 (default) keeps them")
      ->check(kWholeNumber);
  app.add_flag("--no-preallocate", no_preallocate,
               "Do not zero-fill spool segments ahead: grow each by appending (every "
               "fdatasync then also writes the file's size). By default a writer zero-fills "
               "its next segment while its fdatasyncs average 128 KiB or less; this is for "
               "disks too full for a whole segment, or file systems where writing zeros ahead "
               "costs too much");
  app.add_flag("--direct-io", direct_io,
               "Write each batch with O_DIRECT | O_DSYNC into segments zero-filled ahead, "
               "--syncs-in-flight at once, instead of write + fdatasync (ext4, XFS; not tmpfs)");
  app.add_option(
      "--storage-ring", storage_ring,
      "Messages in flight between a reactor and its writer (4 to 1048576), default 4096");
  app.add_option("--max-content-memory", max_content_memory,
                 "Octets of messages (content and recipients) held in memory at once, all "
                 "reactors together (a transaction's first 64 KiB not counted); a message "
                 "finding no room is answered 452 4.3.1 at its end, a recipient 452 4.5.3. At "
                 "least --max-message-size + 384 KiB + 4 KiB for each of --max-recipients. "
                 "Default: a quarter of physical memory, or of the control group's memory "
                 "limit when lower")
      ->check(kWholeNumber);
  app.add_option("--min-free-space", min_free_space,
                 "Octets the spool's (or maildir's) file system keeps free: below that, or when "
                 "a message's SIZE would take it below, MAIL is answered 452 4.3.1 and /readyz "
                 "fails. Default: 1.5 x --max-message-size (Postfix's rule); 0: no floor")
      ->check(kWholeNumber);
  app.add_option("--min-free-inodes", min_free_inodes,
                 "Inodes the same file system keeps free, where it counts them (a maildir takes "
                 "one a message): below that, MAIL is answered 452 4.3.1 and /readyz fails. "
                 "Default 1000; 0: no floor")
      ->check(kWholeNumber);
  app.add_option("--fault-writer-stall", fault_writer_stall,
                 "Testing only: storage writers pause while this file exists");
  app.add_option("--host-name", host_name, "Name in the greeting and Received headers");
  app.add_option("--node-id", node_id,
                 "Node number in queue ids (0-" + std::to_string(engine::kMaxNodes - 1) + ")");
  app.add_option("--max-message-size", max_message_size,
                 "Octets (SIZE), up to 256 GiB, default 52428800 (with kafka durability: "
                 "the producer's message.max.bytes less 64 KiB, engine/KAFKA.md)")
      ->check(kWholeNumber);
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
  std::uint8_t client_v6 = 0;
  app.add_option("--client-ipv6-prefix", client_v6,
                 "An IPv6 client is its address's network of this many bits to every "
                 "per-address cap and limit (--max-connections-per-ip, *-rate-per-ip, "
                 "--auth-max-failures), as Postfix's smtpd_client_ipv6_prefix_length; "
                 "default 84, 128 = each address");
  app.add_option("--command-timeout", command_timeout, "Seconds, default 300 (RFC 5321)");
  app.add_option("--data-timeout", data_timeout, "Seconds per DATA block, default 180");
  app.add_option("--min-data-rate", min_data_rate,
                 "Octets/s a message's content (DATA, or BDAT from the first chunk to the last) "
                 "must average once it has lasted --min-rate-grace seconds (slowloris); "
                 "default 1024, 0 = off");
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
                 "logged); default 1");  // 0: check_log_and_rate_settings refuses it
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
      load_config_file(o, config_file);
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
    // Each ring is allocated whole at start: 4 billion slots ended in std::bad_alloc.
    if (o.storage_ring < 4 || o.storage_ring > (1u << 20))
      throw CLI::ValidationError("--storage-ring", "4 to 1048576");
    if (app.count("--max-content-memory")) o.max_content_memory = max_content_memory;
    if (app.count("--min-free-space")) o.min_free_space = min_free_space;
    if (app.count("--min-free-inodes")) o.min_free_inodes = min_free_inodes;
    if (app.count("--segment-size")) o.segment_size = segment_size;
    // A smaller segment would hold less than one direct-I/O block, and 0 or 1 made a new
    // segment file (and a directory sync) for every batch.
    if (o.segment_size < 4096) throw CLI::ValidationError("--segment-size", "at least 4096");
    check_at_most_256_gib("--segment-size", o.segment_size);
    if (app.count("--segment-age")) o.segment_age = segment_age;
    if (app.count("--retention")) o.retention = retention;
    if (!fault_writer_stall.empty()) o.fault_writer_stall = fault_writer_stall;
    if (no_pin) o.pin_threads = false;
    if (no_preallocate) o.preallocate = false;
    if (direct_io) o.direct_io = true;
    if (!host_name.empty()) o.host_name = host_name;
    if (app.count("--node-id")) o.node_id = node_id;
    if (app.count("--max-message-size")) o.limits.max_message_size = max_message_size;
    o.max_message_size_given = o.max_message_size_given || app.count("--max-message-size") > 0;
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
    if (app.count("--client-ipv6-prefix")) o.client_ipv6_prefix = client_v6;
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
      rate_limit(o.rate_limits, kRateSettings[i]) = rates[i];
    }
    if (app.count("--rate-window")) o.rate_limits.window = std::chrono::seconds(rate_window);
    if (app.count("--rate-ipv4-prefix")) o.rate_limits.ipv4_prefix = rate_v4;
    if (app.count("--rate-ipv6-prefix")) o.rate_limits.ipv6_prefix = rate_v6;
    if (app.count("--auth-max-failures-per-net"))
      o.auth_max_failures_per_network = auth_failures_per_net;
    check_log_and_rate_settings(o);
    check_limits_allow_mail(o);
    check_message_fits(o);
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
    if (kafka_listener) fit_message_size_to_kafka(o);
    if (!tls_min_version.empty()) o.tls_min_version = tls_min_version;
    if (o.tls_min_version != "1.2" && o.tls_min_version != "1.3")
      throw CLI::ValidationError("tls_min_version", "must be 1.2 or 1.3");
    if (o.host_name.empty()) o.host_name = machine_name();
    // It goes into the greeting, EHLO's answer and every Received field (RFC 5321 §4.2,
    // §4.4): a space or a line break there would forge a reply or a header line.
    if (!is_host_name(o.host_name))
      throw CLI::ValidationError("--host-name",
                                 "must be a domain name or an address literal (RFC 5321 §4.1.2, "
                                 "§4.1.3), got \"" +
                                     o.host_name + "\"");
    if (o.node_id >= engine::kMaxNodes)
      throw CLI::ValidationError("--node-id", "must be 0-" + std::to_string(engine::kMaxNodes - 1));
    // Reactors past this would share queue ids (and each takes an io_uring and its buffers).
    if (o.threads > engine::kMaxReactors)
      throw CLI::ValidationError("--threads", "at most " + std::to_string(engine::kMaxReactors));
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

}  // namespace mxring::tools
