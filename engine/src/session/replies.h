// Every fixed reply the session sends, in one table, with the rule each one answers.
// Enhanced status codes (RFC 2034, RFC 3463) on every 2xx/4xx/5xx reply except the greeting
// and the HELO/EHLO replies, which RFC 2034 §3 exempts; 334 and 354 carry none either.
#pragma once

#include <string_view>

#include "mxring/parser/command.h"

namespace mxring::engine::replies {

// Success.
inline constexpr std::string_view kOk = "250 2.0.0 Ok\r\n";
inline constexpr std::string_view kSenderOk = "250 2.1.0 Ok\r\n";     // RFC 3463 §3.2 X.1.0
inline constexpr std::string_view kRecipientOk = "250 2.1.5 Ok\r\n";  // X.1.5 destination valid
inline constexpr std::string_view kStartData = "354 End data with <CR><LF>.<CR><LF>\r\n";
inline constexpr std::string_view kBye = "221 2.0.0 Bye\r\n";
inline constexpr std::string_view kHelp =
    "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n";
// RFC 5321 §3.5.3: 252 when the server will not verify but will accept the address at RCPT.
inline constexpr std::string_view kCannotVrfy =
    "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n";
inline constexpr std::string_view kReadyForTls = "220 2.0.0 Ready to start TLS\r\n";  // RFC 3207
inline constexpr std::string_view kAuthOk = "235 2.7.0 Authentication successful\r\n";

// Syntax (RFC 5321 §4.2.2, §4.3.2).
inline constexpr std::string_view kUnrecognized = "500 5.5.1 Command unrecognized\r\n";
inline constexpr std::string_view kLineTooLong = "500 5.5.2 Line too long\r\n";
// SMTP smuggling (CVE-2023-51764/51765/51766): a bare CR or LF is never a line end.
inline constexpr std::string_view kBareLineEndInCommand =
    "500 5.5.2 Bare CR or LF in command line; lines end with CRLF\r\n";
inline constexpr std::string_view kBadSender = "501 5.1.7 Bad sender address syntax\r\n";
inline constexpr std::string_view kBadRecipient = "501 5.1.3 Bad recipient address syntax\r\n";
inline constexpr std::string_view kBadParameterValue = "501 5.5.4 Invalid parameter value\r\n";
// RFC 5321 §4.1.1.11: an unknown MAIL/RCPT parameter.
inline constexpr std::string_view kUnknownParameter = "555 5.5.4 Unsupported parameter\r\n";
inline constexpr std::string_view kExpnDisabled = "502 5.5.1 EXPN not available\r\n";
inline constexpr std::string_view kStarttlsUnavailable = "502 5.5.1 STARTTLS not available\r\n";

// Sequence (RFC 5321 §4.1.4, §4.3.2).
inline constexpr std::string_view kHeloFirst = "503 5.5.1 Send HELO/EHLO first\r\n";
inline constexpr std::string_view kNestedMail = "503 5.5.1 Nested MAIL command\r\n";
inline constexpr std::string_view kNeedMail = "503 5.5.1 Need MAIL command\r\n";
// RFC 5321 §3.3: DATA with no accepted recipient.
inline constexpr std::string_view kNoValidRecipients = "554 5.5.1 No valid recipients\r\n";
// RFC 3030 §2-3: BDAT and DATA do not mix within a transaction; BINARYMIME needs BDAT.
inline constexpr std::string_view kDataAfterBdat =
    "503 5.5.1 DATA not allowed after BDAT in the same transaction\r\n";
inline constexpr std::string_view kBinaryNeedsBdat =
    "503 5.5.1 BODY=BINARYMIME requires BDAT, not DATA\r\n";
inline constexpr std::string_view kRcptAfterBdat = "503 5.5.1 RCPT not allowed after BDAT\r\n";
inline constexpr std::string_view kTransactionInProgress =
    "503 5.5.1 Not allowed during a mail transaction\r\n";
// DESIGN.md: a second STARTTLS is refused.
inline constexpr std::string_view kTlsAlreadyActive = "503 5.5.1 TLS already active\r\n";

// Policy and limits.
inline constexpr std::string_view kUnknownUser =
    "550 5.1.1 Recipient address rejected: user unknown\r\n";
// No open relay (RFC 5321 §3.6.1 and DESIGN.md).
inline constexpr std::string_view kRelayDenied = "550 5.7.1 Relay access denied\r\n";
// RFC 5321 §4.5.3.1.10: 452 for too many recipients; the client sends the rest later.
inline constexpr std::string_view kTooManyRecipients = "452 4.5.3 Too many recipients\r\n";
inline constexpr std::string_view kTooManyMessages =
    "452 4.5.3 Too many messages in this session; please reconnect\r\n";
// Per-client rate limits (Postfix's anvil answers the same): try again later.
inline constexpr std::string_view kMessageRateExceeded =
    "450 4.7.1 Too many messages from your address; try again later\r\n";
inline constexpr std::string_view kRecipientRateExceeded =
    "450 4.7.1 Too many recipients from your address; try again later\r\n";
inline constexpr std::string_view kConnectionRateExceeded =
    "421 4.7.0 Too many connections from your address; try again later\r\n";
// RFC 1870 §6: 552 for a size over the fixed maximum, at MAIL and after the content.
inline constexpr std::string_view kMessageTooBig =
    "552 5.3.4 Message size exceeds fixed maximum message size\r\n";
// RFC 6531 §3.5 (X.6.7, RFC 5248): non-ASCII addresses need the SMTPUTF8 parameter.
inline constexpr std::string_view kNeedSmtputf8 =
    "553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter\r\n";
// RFC 8689 §5: REQUIRETLS is offered only once TLS is active.
inline constexpr std::string_view kRequiretlsNeedsTls =
    "555 5.7.10 REQUIRETLS needs a TLS session\r\n";

// Content (DESIGN.md: never normalise, never cut).
inline constexpr std::string_view kBareLineEndInData =
    "550 5.6.0 Message has a bare CR or LF; lines end with CRLF\r\n";
inline constexpr std::string_view kNulInData =
    "550 5.6.0 Message has a NUL octet (not allowed outside BINARYMIME)\r\n";
inline constexpr std::string_view kLongLineInData =
    "500 5.5.2 Message has a line over the 998-octet limit\r\n";
// RFC 2920 §3.1: input behind a command that ends a pipelined group (Postfix's reply).
inline constexpr std::string_view kPipeliningSync =
    "554 5.5.0 Error: SMTP protocol synchronization\r\n";
// RFC 5321 §6.3: a message that has passed through too many hosts is looping (X.4.6, "routing
// loop detected", RFC 3463); storing it would feed the loop.
inline constexpr std::string_view kMailLoop =
    "554 5.4.6 Too many Received header fields: mail loop\r\n";

// Storage (DESIGN.md: nothing acknowledged that is not stored).
inline constexpr std::string_view kStorageFailed =
    "451 4.3.0 Temporary storage failure; try again later\r\n";
inline constexpr std::string_view kStorageFull = "452 4.3.1 Insufficient system storage\r\n";
inline constexpr std::string_view kSystemBusy = "451 4.3.2 System busy, try again later\r\n";
// The store can never take it (Kafka's message.max.bytes): a failure for good.
inline constexpr std::string_view kTooBigForStore = "552 5.3.4 Message too big for system\r\n";

// Submission (RFC 6409 §4.3, RFC 4954, RFC 3207).
inline constexpr std::string_view kStarttlsFirst =
    "530 5.7.0 Must issue a STARTTLS command first\r\n";
inline constexpr std::string_view kAuthRequired = "530 5.7.0 Authentication required\r\n";
inline constexpr std::string_view kAuthUnavailable = "503 5.5.1 AUTH not available\r\n";
// RFC 4954 §6: 538 when the mechanism needs an encrypted channel.
inline constexpr std::string_view kAuthNeedsTls =
    "538 5.7.11 Encryption required for requested authentication mechanism\r\n";
inline constexpr std::string_view kAlreadyAuthenticated = "503 5.5.1 Already authenticated\r\n";
inline constexpr std::string_view kUnknownMechanism =
    "504 5.5.4 Unrecognized authentication type\r\n";
inline constexpr std::string_view kAuthCancelled = "501 5.0.0 Authentication cancelled\r\n";
inline constexpr std::string_view kAuthBadEncoding = "501 5.5.2 Cannot decode response\r\n";
inline constexpr std::string_view kAuthInvalid = "535 5.7.8 Authentication credentials invalid\r\n";
inline constexpr std::string_view kAuthTemporary = "454 4.7.0 Temporary authentication failure\r\n";
inline constexpr std::string_view kSaslEmptyChallenge = "334 \r\n";
inline constexpr std::string_view kSaslUsername = "334 VXNlcm5hbWU6\r\n";  // "Username:"
inline constexpr std::string_view kSaslPassword = "334 UGFzc3dvcmQ6\r\n";  // "Password:"

// XCLIENT (Postfix's replies).
inline constexpr std::string_view kXclientNotAuthorized =
    "550 5.7.0 Error: insufficient authorization\r\n";
inline constexpr std::string_view kXclientBadAttribute =
    "501 5.5.4 Bad XCLIENT attribute or value\r\n";

// Connection.
// RFC 5321 §3.1: after a 554 greeting the server waits for QUIT and answers 503 meanwhile.
inline constexpr std::string_view kAccessDenied = "503 5.7.1 Error: access denied\r\n";
inline constexpr std::string_view kEarlyTalker =
    "554 5.5.1 Protocol error: client sent data before the greeting\r\n";

// 501 for arguments a verb does not take (RFC 5321 §4.2.2), with the expected form.
constexpr std::string_view syntax_error(parser::Verb verb) {
  using parser::Verb;
  switch (verb) {
    case Verb::helo:
      return "501 5.5.4 Syntax: HELO hostname\r\n";
    case Verb::ehlo:
      return "501 5.5.4 Syntax: EHLO hostname\r\n";
    case Verb::mail:
      return "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n";
    case Verb::rcpt:
      return "501 5.5.4 Syntax: RCPT TO:<address> [parameters]\r\n";
    case Verb::data:
      return "501 5.5.4 Syntax: DATA (no arguments)\r\n";
    case Verb::rset:
      return "501 5.5.4 Syntax: RSET (no arguments)\r\n";
    case Verb::quit:
      return "501 5.5.4 Syntax: QUIT (no arguments)\r\n";
    case Verb::starttls:
      return "501 5.5.4 Syntax: STARTTLS (no arguments)\r\n";
    case Verb::vrfy:
      return "501 5.5.4 Syntax: VRFY address\r\n";
    case Verb::expn:
      return "501 5.5.4 Syntax: EXPN list\r\n";
    case Verb::auth:
      return "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n";
    case Verb::bdat:
      return "501 5.5.4 Syntax: BDAT size [LAST]\r\n";
    default:
      return "501 5.5.4 Syntax error in parameters or arguments\r\n";
  }
}

}  // namespace mxring::engine::replies
