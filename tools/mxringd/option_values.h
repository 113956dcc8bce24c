// The values mxringd takes alike from a flag and from its --config file: listener specs,
// durability and role names, certificate pairs and the rate-limit settings.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "mxring/engine/server.h"
#include "options.h"

namespace mxring::tools {

// The per-client rate limits, each a flag and a config key (Postfix's anvil rates).
struct RateSetting {
  const char* flag;
  const char* key;
  engine::RateLimits::Kind kind;
  bool per_network;
  const char* help;
};
inline constexpr std::array<RateSetting, 6> kRateSettings = {{
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

// The limit a rate setting names in `limits` (const when `limits` is).
template <typename Limits>
auto& rate_limit(Limits& limits, const RateSetting& setting) {
  return (setting.per_network ? limits.per_network : limits.per_address)[setting.kind];
}

std::optional<engine::ListenerRole> role_of(const std::string& name);
std::optional<engine::Durability> durability_of(const std::string& name);

// ADDR:PORT[:ROLE[+proxy]], IPv6 in brackets: [::1]:2525:submission. Throws
// CLI::ValidationError when malformed.
ListenSpec parse_listen(const std::string& text);

// The form parse_listen reads, role always given.
std::string listen_text(const ListenSpec& spec);

// --tls-cert and --tls-key pair up in the order given (SNI picks among the pairs).
std::vector<engine::TlsCertificateFiles> certificate_pairs(const std::vector<std::string>& certs,
                                                           const std::vector<std::string>& keys);

}  // namespace mxring::tools
