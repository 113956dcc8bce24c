// Formats, once per listener configuration, the replies that depend only on it.
#include <charconv>
#include <vector>

#include "mxring/engine/session_config.h"

namespace mxring::engine {

std::string_view role_name(ListenerRole role) {
  switch (role) {
    case ListenerRole::smtp:
      return "smtp";
    case ListenerRole::submission:
      return "submission";
    case ListenerRole::smtps:
      return "smtps";
  }
  return "smtp";
}

std::string_view durability_name(Durability durability) {
  switch (durability) {
    case Durability::fsync:
      return "fsync";
    case Durability::none:
      return "none";
    case Durability::discard:
      return "discard";
    case Durability::kafka:
      return "kafka";
  }
  return "fsync";
}

namespace {

std::string decimal(std::uint64_t value) {
  char text[24];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  return std::string(text, end);
}

// RFC 5321 §4.1.1.1: the first line names the host, each further line one extension.
std::string format_ehlo_reply(const SessionConfig& config, bool tls_active, bool xclient) {
  std::vector<std::string> lines = {
      config.host_name,
      "PIPELINING",                                       // RFC 2920
      "SIZE " + decimal(config.limits.max_message_size),  // RFC 1870
      "8BITMIME",                                         // RFC 6152
      "ENHANCEDSTATUSCODES",                              // RFC 2034
      "SMTPUTF8",                                         // RFC 6531
      "CHUNKING",                                         // RFC 3030
      "BINARYMIME",                                       // RFC 3030
      "DSN",                                              // RFC 3461
  };
  if (config.starttls_available && !tls_active) lines.push_back("STARTTLS");  // RFC 3207
  // RFC 4954 §4 and DESIGN.md: AUTH only over TLS, and only where clients submit.
  if (config.auth_available && tls_active && config.role != ListenerRole::smtp)
    lines.push_back("AUTH PLAIN LOGIN");
  if (tls_active) lines.push_back("REQUIRETLS");                               // RFC 8689 §4
  lines.push_back("LIMITS RCPTMAX=" + decimal(config.limits.max_recipients) +  // RFC 9422
                  " MAILMAX=" + decimal(config.limits.max_messages));
  if (xclient) lines.push_back("XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT");
  std::string reply;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    reply += i + 1 < lines.size() ? "250-" : "250 ";
    reply += lines[i];
    reply += "\r\n";
  }
  return reply;
}

}  // namespace

std::shared_ptr<const SessionContext> SessionContext::make(SessionConfig config) {
  return std::shared_ptr<const SessionContext>(new SessionContext(std::move(config)));
}

SessionContext::SessionContext(SessionConfig config) : config_(std::move(config)) {
  const auto& host = config_.host_name;
  greeting_ = "220 " + host + " ESMTP mxring\r\n";
  helo_reply_ = "250 " + host + "\r\n";
  ehlo_plain_ = format_ehlo_reply(config_, false, false);
  ehlo_tls_ = format_ehlo_reply(config_, true, false);
  ehlo_plain_xclient_ = format_ehlo_reply(config_, false, true);
  ehlo_tls_xclient_ = format_ehlo_reply(config_, true, true);
  too_many_errors_ = "421 4.7.0 " + host + " Error: too many errors\r\n";
  timeout_ = "421 4.4.2 " + host + " Error: timeout exceeded\r\n";  // RFC 5321 §4.5.3.2
  shutdown_ = "421 4.3.2 " + host + " Service shutting down\r\n";   // RFC 3463 §3.4 X.3.2
}

}  // namespace mxring::engine
