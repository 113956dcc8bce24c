// Builds the Received: trace field (RFC 5321 §4.4) for a stored message.
#include "received_header.h"

#include <ctime>

#include "mxring/parser/path.h"

namespace mxring::engine {
namespace {

// A HELO name goes into the header as sent only when it is a domain or address literal;
// anything else (the parser allows any printable word) goes into a comment, escaped
// (RFC 5322 §3.2.2), so it cannot pose as header syntax.
void append_helo(ByteBuffer& out, std::string_view helo, std::string_view address_literal) {
  if (parser::is_valid_domain(helo, false) || parser::is_valid_address_literal(helo)) {
    out.append(helo);
    out.append(" (");
    out.append(address_literal);
    out.append(")");
    return;
  }
  out.append("unknown (");
  out.append(address_literal);
  out.append(" helo=");
  for (char c : helo) {
    if (c == '(' || c == ')' || c == '\\') out.append("\\");
    // No path lets a control character in (XCLIENT's xtext included); were one to, a CR LF
    // here would end the field and begin one of the client's making.
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    out.append(std::string_view(&c, 1));
  }
  out.append(")");
}

}  // namespace

std::string_view received_protocol(const ReceivedFields& fields) {
  if (!fields.esmtp) return "SMTP";
  const bool tls = !fields.tls_version.empty();
  constexpr std::string_view kEsmtp[] = {"ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA"};
  constexpr std::string_view kUtf8[] = {"UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA"};
  const auto index = (tls ? 2 : 0) + (fields.authenticated ? 1 : 0);
  return fields.smtputf8 ? kUtf8[index] : kEsmtp[index];
}

std::size_t format_rfc5322_date(std::int64_t unix_seconds, char (&out)[32]) {
  // One formatted second per thread: every message of a busy second shares it.
  thread_local std::int64_t cached_second = -1;
  thread_local char cached[32];
  thread_local std::size_t cached_length = 0;
  if (unix_seconds != cached_second) {
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    cached_length = std::strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    cached_second = unix_seconds;
  }
  std::copy(cached, cached + cached_length + 1, out);
  return cached_length;
}

void append_received_header(ByteBuffer& out, const ReceivedFields& fields) {
  char literal[64];
  const bool ipv6 = fields.client_address.find(':') != std::string_view::npos;
  std::size_t literal_length = 0;
  const auto put = [&](std::string_view s) {
    const auto n =
        s.size() < sizeof literal - literal_length ? s.size() : sizeof literal - literal_length;
    s.copy(literal + literal_length, n);
    literal_length += n;
  };
  put(ipv6 ? "[IPv6:" : "[");  // RFC 5321 §4.1.3 address literal
  put(fields.client_address);
  put("]");

  out.append("Received: from ");
  append_helo(out, fields.helo, {literal, literal_length});
  out.append("\r\n\tby ");
  out.append(fields.host_name);
  out.append(" (mxring) with ");
  out.append(received_protocol(fields));
  if (!fields.tls_version.empty()) {
    out.append(" (");
    out.append(fields.tls_version);
    out.append(" ");
    out.append(fields.tls_cipher);
    out.append(")");
  }
  out.append(" id ");
  out.append(fields.queue_id);
  if (!fields.single_recipient.empty()) {
    out.append("\r\n\tfor <");
    out.append(fields.single_recipient);
    out.append(">");
  }
  out.append("; ");
  char date[32];
  out.append(std::string_view(date, format_rfc5322_date(fields.unix_seconds, date)));
  out.append("\r\n");
}

}  // namespace mxring::engine
