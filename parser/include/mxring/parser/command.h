// Parses one SMTP command line (without its CRLF) into a verb and views of its arguments.
// Pure: no allocation, no I/O; every view points into the caller's line.
#pragma once

#include <cstdint>
#include <string_view>

#include "mxring/parser/path.h"

namespace mxring::parser {

enum class Verb : std::uint8_t {
  unknown,
  helo,
  ehlo,
  mail,
  rcpt,
  data,
  rset,
  noop,
  quit,
  vrfy,
  expn,
  help,
  starttls,
  auth,
  bdat,
  xclient,  // Postfix's XCLIENT, for trusted proxies (parser/xclient.h reads its attributes)
};

std::string_view verb_name(Verb verb);

// Distinct failures so the session can answer exactly (RFC 5321 §4.2.3, RFC 3463 codes).
enum class CommandError : std::uint8_t {
  none,
  unrecognized,         // 500 5.5.1: not a command
  line_too_long,        // 500 5.5.2: over 512 octets (MAIL/RCPT: plus the parameter allowance)
  syntax,               // 501 5.5.4: wrong arguments for the verb
  bad_sender,           // 501 5.1.7: reverse-path syntax
  bad_recipient,        // 501 5.1.3: forward-path syntax
  unknown_parameter,    // 555 5.5.4: ESMTP keyword not known for this verb (RFC 5321 §4.1.1.11)
  bad_parameter_value,  // 501 5.5.4: known keyword, invalid or repeated value
};

enum class Body : std::uint8_t { unspecified, seven_bit, eight_bit_mime, binary_mime };
enum class Ret : std::uint8_t { unspecified, full, headers };

// NOTIFY (RFC 3461 §4.1) as bits; `notify_never` excludes the others.
enum NotifyBit : std::uint8_t {
  kNotifySuccess = 1,
  kNotifyFailure = 2,
  kNotifyDelay = 4,
  kNotifyNever = 8,
};

// MAIL FROM parameters (RFC 1870, 6152, 3030, 6531, 3461, 4954, 8689).
struct MailParameters {
  bool has_size = false;
  std::uint64_t size = 0;  // 1*20DIGIT (RFC 1870); a 20-digit value past 2^64 saturates
  Body body = Body::unspecified;
  bool smtputf8 = false;
  bool requiretls = false;
  Ret ret = Ret::unspecified;
  std::string_view envid;  // xtext as sent; decode with xtext_decode
  std::string_view auth;   // xtext as sent ("<>" when the client vouches for no identity)
};

// RCPT TO parameters (RFC 3461 §4).
struct RcptParameters {
  std::uint8_t notify = 0;         // NotifyBit mask; 0 = not given
  std::string_view orcpt_type;     // e.g. "rfc822" or "utf-8"
  std::string_view orcpt_address;  // xtext as sent, or UTF-8 for a utf-8 type
};

// Whether an ORCPT address type is "utf-8" (any case): its address is utf-8-addr-xtext
// (RFC 6533 §3), UTF-8 kept as sent, not xtext to decode.
bool is_utf8_address_type(std::string_view type);

struct Command {
  Verb verb = Verb::unknown;
  // HELO/EHLO: the client's name; VRFY/EXPN/HELP/NOOP: the text; AUTH: the mechanism;
  // XCLIENT: its attribute list.
  std::string_view argument;
  std::string_view auth_initial_response;  // AUTH: optional second argument ("=" for empty)
  Path path;                               // MAIL, RCPT
  MailParameters mail;
  RcptParameters rcpt;
  std::uint64_t bdat_size = 0;
  bool bdat_last = false;
};

struct CommandLimits {
  std::uint32_t max_line = 512;              // octets with CRLF (RFC 5321 §4.5.3.1.4)
  std::uint32_t parameter_allowance = 1024;  // extra octets MAIL/RCPT may use for parameters
};

struct ParsedCommand {
  Command command;
  CommandError error = CommandError::none;
};

// `line` excludes its CRLF. The line scanner has already refused bare CR/LF.
ParsedCommand parse_command(std::string_view line, const CommandLimits& limits = {});

}  // namespace mxring::parser
