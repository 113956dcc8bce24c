#include "proxy_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "mxring/parser/text.h"

namespace mxring::engine {

bool proxied_client(const parser::ProxyHeader& header, sockaddr_storage& client) {
  if (header.command != parser::ProxyCommand::proxied) return true;
  sockaddr_storage address{};
  if (header.ipv6) {
    auto& a6 = reinterpret_cast<sockaddr_in6&>(address);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(header.source_port);
    if (header.version == 1) {
      const std::string text(header.source_text);
      if (inet_pton(AF_INET6, text.c_str(), &a6.sin6_addr) != 1) return false;
    } else {
      std::memcpy(&a6.sin6_addr, header.source.data(), 16);
    }
  } else {
    auto& a4 = reinterpret_cast<sockaddr_in&>(address);
    a4.sin_family = AF_INET;
    a4.sin_port = htons(header.source_port);
    if (header.version == 1) {
      const std::string text(header.source_text);
      if (inet_pton(AF_INET, text.c_str(), &a4.sin_addr) != 1) return false;
    } else {
      std::memcpy(&a4.sin_addr, header.source.data(), 4);
    }
  }
  client = address;
  return true;
}

void read_proxy_tlvs(const parser::ProxyHeader& header, ProxyInfo& info) {
  parser::for_each_proxy_tlv(header.tlvs, [&](std::uint8_t type, std::string_view value) {
    // The authority is the host name the client asked the balancer for (its SNI), passed
    // on as sent: like the names TLS gives (tls_stream.cpp), kept only as printable ASCII.
    if (!parser::is_printable_ascii(value)) return;
    switch (type) {
      case parser::kProxyTlvAuthority:
        info.authority = value;
        break;
      case parser::kProxyTlvSslVersion:
        info.tls_version = value;
        break;
      case parser::kProxyTlvSslCipher:
        info.tls_cipher = value;
        break;
      default:
        break;
    }
  });
}

}  // namespace mxring::engine
