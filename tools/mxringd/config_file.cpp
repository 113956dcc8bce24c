// The --config file. Every key is read here by name through ConfigTable, which refuses the
// keys it was never asked about.
#include "config_file.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>
#include <toml.hpp>

#include "common/kafka_settings.h"
#include "option_values.h"

namespace mxring::tools {
namespace {

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

}  // namespace

void load_config_file(Options& o, const std::string& path) {
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
  file.number("client_ipv6_prefix", o.client_ipv6_prefix);
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
  for (const auto& rate : kRateSettings) file.number(rate.key, rate_limit(o.rate_limits, rate));
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
  o.max_message_size_given = o.max_message_size_given || file.has("max_message_size");
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

}  // namespace mxring::tools
