// What one accepted message carries to storage: the envelope (who sent it, to whom, over
// what) and the content exactly as it will be delivered (trace header + unstuffed body).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mxring/engine/byte_buffer.h"
#include "mxring/engine/content_budget.h"
#include "mxring/parser/command.h"

namespace mxring::engine {

// Unique across restarts and reactors (DESIGN.md); printable, at most 23 octets.
class QueueId {
 public:
  QueueId() = default;
  explicit QueueId(std::string_view text) {
    length_ = static_cast<std::uint8_t>(text.size() < text_.size() ? text.size() : text_.size());
    text.copy(text_.data(), length_);
  }
  std::string_view view() const { return {text_.data(), length_}; }
  bool empty() const { return length_ == 0; }
  bool operator==(const QueueId& other) const { return view() == other.view(); }

 private:
  std::array<char, 23> text_{};
  std::uint8_t length_ = 0;
};

enum class ListenerRole : std::uint8_t {
  smtp,        // port 25: relay from the world to the accepted domains
  submission,  // port 587 (RFC 6409): STARTTLS then AUTH before MAIL
  smtps,       // port 465 (RFC 8314): implicit TLS, then AUTH before MAIL
};

std::string_view role_name(ListenerRole role);

// Who told us the client's address when it was not the connection itself: a load balancer
// through the PROXY protocol, or a trusted proxy through XCLIENT. Empty otherwise.
struct ProxyInfo {
  std::string peer;         // the balancer or proxy itself, "address:port" ("[v6]:port")
  std::string via;          // "xclient" when XCLIENT named the client; empty: a PROXY header
  std::string client_name;  // XCLIENT NAME: the client's host name as the proxy found it
  std::string authority;    // v2 TLV: the server name the client asked the balancer for
  std::string tls_version;  // v2 TLV: the client's TLS to the balancer, e.g. "TLSv1.3"
  std::string tls_cipher;
};

// The transport facts of one connection, fixed when it is accepted (or when its PROXY
// header has been read: then client_* are the balancer's word, and `proxy` says who said so).
struct ConnectionInfo {
  std::string client_address;  // numeric: "192.0.2.1" or "2001:db8::1" (no DNS is asked)
  std::uint16_t client_port = 0;
  std::array<std::uint8_t, 16> client_octets{};  // the same, IPv4 mapped (per-client limits)
  bool xclient_trusted = false;                  // may send XCLIENT (--xclient-trusted)
  std::string listener;  // the listener's address as configured, e.g. "127.0.0.1:2525"
  ListenerRole role = ListenerRole::smtp;
  // Shared and immutable: a connection's idle footprint stays small (most have none).
  std::shared_ptr<const ProxyInfo> proxy;
};

struct TlsInfo {
  std::string version;  // e.g. "TLSv1.3"; empty when the session is plaintext
  std::string cipher;   // IANA name, e.g. "TLS_AES_128_GCM_SHA256"
  std::string sni;      // the server name the client asked for (RFC 6066 §3); may be empty
};

struct Recipient {
  std::string address;      // forward-path mailbox as sent ("postmaster" for <postmaster>)
  std::uint8_t notify = 0;  // parser::NotifyBit mask (RFC 3461 §4.1); 0 = not given
  std::string orcpt;        // "type;address" with the address xtext-decoded; may be empty
};

struct Envelope {
  QueueId queue_id;
  std::int64_t received_at_us = 0;  // Unix time in microseconds when the content began

  std::string client_address;
  std::uint16_t client_port = 0;
  std::string listener;
  ListenerRole role = ListenerRole::smtp;
  ProxyInfo proxy;   // empty unless the listener takes PROXY headers
  std::string helo;  // the HELO/EHLO argument as sent
  bool esmtp = false;
  TlsInfo tls;
  std::string auth_identity;  // empty unless the session authenticated (RFC 4954)

  std::string mail_from;  // reverse-path mailbox; empty for the null path <>
  parser::Body body = parser::Body::unspecified;
  bool smtputf8 = false;
  bool requiretls = false;
  parser::Ret ret = parser::Ret::unspecified;
  std::string envid;      // xtext-decoded (RFC 3461 §4.4)
  std::string mail_auth;  // AUTH= of MAIL, xtext-decoded; kept only for authenticated sessions
  std::uint64_t declared_size = 0;  // SIZE= (RFC 1870); 0 = not given
  std::vector<Recipient> recipients;

  bool chunked = false;     // arrived by BDAT (RFC 3030) rather than DATA
  bool eight_bit = false;   // the content holds octets above 127
  bool long_lines = false;  // the content holds a line over 998 octets (kept intact)
};

struct Message {
  Envelope envelope;
  ByteBuffer content;    // Received: header, then the body exactly as sent, minus dot-stuffing
  ContentCharge charge;  // what `content` holds of its reactor's ContentBudget
};

}  // namespace mxring::engine
