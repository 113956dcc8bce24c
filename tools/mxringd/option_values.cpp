// Values read alike from flags and from the --config file.
#include "option_values.h"

#include <CLI/CLI.hpp>

#include "common/host_port.h"

namespace mxring::tools {

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

std::string listen_text(const ListenSpec& spec) {
  const bool ipv6 = spec.address.find(':') != std::string::npos;
  return (ipv6 ? "[" + spec.address + "]" : spec.address) + ":" + std::to_string(spec.port) + ":" +
         std::string(engine::role_name(spec.role)) + (spec.proxy ? "+proxy" : "");
}

std::vector<engine::TlsCertificateFiles> certificate_pairs(const std::vector<std::string>& certs,
                                                           const std::vector<std::string>& keys) {
  if (certs.size() != keys.size())
    throw CLI::ValidationError("--tls-cert", "every --tls-cert needs its --tls-key, in order");
  std::vector<engine::TlsCertificateFiles> pairs;
  for (std::size_t i = 0; i < certs.size(); ++i) pairs.push_back({certs[i], keys[i]});
  return pairs;
}

}  // namespace mxring::tools
