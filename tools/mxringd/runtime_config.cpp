// Options turned into what the engine runs with: the session contexts, certificates and AUTH
// users a reload replaces (build_runtime), the server's fixed settings, the log's.
#include <unistd.h>

#include <utility>

#include "common/host_port.h"
#include "mxring/engine/client_access.h"
#include "mxring/engine/file_text.h"
#include "mxring/engine/recipient_policy.h"
#include "options.h"

namespace mxring::tools {
namespace {

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
    config.starttls_available = runtime.tls != nullptr && l.role != engine::ListenerRole::smtps;
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
  config.client_ipv6_prefix = o.client_ipv6_prefix;
  config.command_timeout = std::chrono::seconds(o.command_timeout);
  config.data_timeout = std::chrono::seconds(o.data_timeout);
  config.min_data_rate = o.min_data_rate;
  config.min_rate_grace = std::chrono::seconds(o.min_rate_grace);
  config.shutdown_grace = std::chrono::seconds(o.shutdown_grace);
  config.greet_delay = std::chrono::seconds(o.greet_delay);
  config.batch_wait = std::chrono::microseconds(o.batch_wait_us);
  return config;
}

}  // namespace mxring::tools
