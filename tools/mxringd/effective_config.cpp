// The effective configuration as the --config file's TOML (--check-config), and what a SIGHUP
// reload can and cannot change, found by comparing two of those texts key by key.
#include <algorithm>
#include <iterator>
#include <set>
#include <sstream>
#include <string_view>
#include <toml.hpp>

#include "common/kafka_settings.h"
#include "option_values.h"
#include "options.h"

namespace mxring::tools {
namespace {

// The keys a reload applies to new connections: what build_runtime puts in the session
// contexts, certificates, AUTH users and rate limits, and the log's settings. Every other key
// is read once, at start.
constexpr std::string_view kReloadableKeys[] = {
    "host_name",
    "domain",
    "users",
    "client_access",
    "max_message_size",
    "max_recipients",
    "max_messages_per_connection",
    "max_errors",
    "max_junk_commands",
    "soft_error_limit",
    "error_sleep",
    "max_received_headers",
    "reject_long_lines",
    "forbid_improper_pipelining",
    "log_level",
    "log_format",
    "log_file",
    "log_sample",
    "rate_window",
    "rate_ipv4_prefix",
    "rate_ipv6_prefix",
    "tls_cert",
    "tls_key",
    "tls_ciphers",
    "tls_min_version",
    "auth_users",
};

bool reloadable(const std::string& key) {
  return std::ranges::find(kReloadableKeys, key) != std::end(kReloadableKeys) ||
         std::any_of(kRateSettings.begin(), kRateSettings.end(),
                     [&](const RateSetting& rate) { return key == rate.key; });
}

toml::value parsed_description(const Options& options, const char* name) {
  std::istringstream text(describe(options));
  return toml::parse(text, name);
}

}  // namespace

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
      << "client_ipv6_prefix = " << unsigned{o.client_ipv6_prefix} << "\n"
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
    out << rate.key << " = " << rate_limit(o.rate_limits, rate) << "\n";
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

std::vector<std::string> restart_only_changes(const Options& running, const Options& fresh) {
  const auto was = parsed_description(running, "running");
  const auto now = parsed_description(fresh, "reloaded");
  std::set<std::string> keys;
  for (const auto* table : {&was, &now})
    for (const auto& [key, value] : table->as_table()) keys.insert(key);
  std::vector<std::string> changed;
  for (const auto& key : keys) {
    if (reloadable(key)) continue;
    if (was.contains(key) && now.contains(key) && was.at(key) == now.at(key)) continue;
    // `listen` and [[listener]] tables are two forms of the listeners.
    const std::string name = key == "listener" ? "listen" : key;
    if (std::find(changed.begin(), changed.end(), name) == changed.end()) changed.push_back(name);
  }
  return changed;
}

Options reload_options(const Options& running, Options fresh) {
  fresh.listen = running.listen;
  fresh.durability = running.durability;
  return fresh;
}

}  // namespace mxring::tools
