// How a listener's sessions behave: host name, role, limits, which extensions are on. Built
// once per listener (and again on reload) into an immutable SessionContext shared by sessions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mxring/engine/envelope.h"
#include "mxring/engine/recipient_check.h"
#include "mxring/parser/command.h"

namespace mxring::engine {

class ClientAccess;

// What a 250 after the message means (DESIGN.md, durability contract); the reply says which.
enum class Durability : std::uint8_t { fsync, none, discard, kafka };
std::string_view durability_name(Durability durability);  // "fsync", "none", ...

struct SessionLimits {
  std::uint64_t max_message_size = 50ull << 20;  // SIZE (RFC 1870); body octets after unstuffing
  std::uint32_t max_recipients = 1000;           // per message; LIMITS RCPTMAX (RFC 9422)
  std::uint32_t max_messages = 1000;             // per connection; LIMITS MAILMAX (RFC 9422)
  std::uint32_t max_errors = 20;                 // then 421; a stored message forgives them
  // Postfix's smtpd_soft_error_limit and smtpd_error_sleep_time: past this many errors (since
  // the last message stored) the host holds each reply back error_sleep_s seconds
  // (Session::take_delayed_replies). 0 for either: never.
  std::uint32_t soft_error_limit = 10;
  std::uint32_t error_sleep_s = 1;
  std::uint32_t max_junk_commands = 100;  // NOOP, RSET, VRFY, EXPN, HELP; then errors
  parser::CommandLimits command;          // 512 octets + the ESMTP parameter allowance
  std::uint32_t max_data_line = 998;      // RFC 5322 §2.1.1, without CRLF
  bool reject_long_lines = false;         // refuse (500 5.5.2) rather than store intact
  // A message with this many Received fields is refused as looping (RFC 5321 §6.3: "normally
  // at least 100"); 0: no limit.
  std::uint32_t max_received_headers = 100;
  // RFC 2920 §3.1 (and RFC 4954 §4 for AUTH): EHLO, HELO, DATA, AUTH, NOOP, VRFY and EXPN end
  // a pipelined group. A client that sends more behind one is out of step: content sent behind
  // a DATA that gets refused would be read as commands, the desync SMTP smuggling builds on.
  // It is answered 554 5.5.0 and disconnected, as by Postfix's smtpd_forbid_unauth_pipelining
  // (on by default since Postfix 3.9).
  bool forbid_improper_pipelining = true;
};

// The content memory (--max-content-memory) a message these limits allow may need.
inline std::uint64_t content_memory_needed(const SessionLimits& limits) {
  return content_memory_needed(limits.max_message_size, limits.max_recipients);
}

struct SessionConfig {
  std::string host_name = "localhost";  // greeting, EHLO, Received "by"
  ListenerRole role = ListenerRole::smtp;
  Durability durability = Durability::fsync;
  SessionLimits limits;
  bool starttls_available = false;  // a certificate is configured for this listener
  bool auth_available = false;      // credentials are configured (offered on submission/smtps
                                    // once TLS is active, never in plaintext)
  std::shared_ptr<const RecipientCheck> recipients;   // null: accept every recipient
  std::shared_ptr<const ClientAccess> client_access;  // null: every client may send mail
};

// The configuration plus the replies that depend only on it, formatted once.
class SessionContext {
 public:
  static std::shared_ptr<const SessionContext> make(SessionConfig config);

  const SessionConfig& config() const { return config_; }
  const SessionLimits& limits() const { return config_.limits; }

  const std::string& greeting() const { return greeting_; }
  const std::string& helo_reply() const { return helo_reply_; }
  // EHLO's reply lists what this session may use now (RFC 5321 §4.1.1.1): STARTTLS only
  // before TLS, AUTH and REQUIRETLS only after it (RFC 4954 §4, RFC 8689 §4).
  // XCLIENT is listed only to the proxies trusted with it (Postfix's
  // smtpd_authorized_xclient_hosts).
  const std::string& ehlo_reply(bool tls_active, bool xclient = false) const {
    return xclient ? (tls_active ? ehlo_tls_xclient_ : ehlo_plain_xclient_)
                   : (tls_active ? ehlo_tls_ : ehlo_plain_);
  }
  const std::string& too_many_errors() const { return too_many_errors_; }
  const std::string& timeout_reply() const { return timeout_; }
  const std::string& shutdown_reply() const { return shutdown_; }
  bool submission() const { return config_.role != ListenerRole::smtp; }

 private:
  explicit SessionContext(SessionConfig config);

  SessionConfig config_;
  std::string greeting_;
  std::string helo_reply_;
  std::string ehlo_plain_;
  std::string ehlo_tls_;
  std::string ehlo_plain_xclient_;
  std::string ehlo_tls_xclient_;
  std::string too_many_errors_;
  std::string timeout_;
  std::string shutdown_;
};

}  // namespace mxring::engine
