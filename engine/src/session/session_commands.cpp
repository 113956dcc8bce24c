// The session's command handlers: one function per verb, each checking sequence, parameters
// and policy in the order RFC 5321 §4.1.4 and the extension RFCs give, then replying.

#include <charconv>
#include <cstring>
#include <optional>

#include "mxring/engine/address_range.h"
#include "mxring/engine/session.h"
#include "mxring/parser/text.h"
#include "mxring/parser/xclient.h"
#include "replies.h"
#include "sasl.h"
#include "session_state.h"

namespace mxring::engine {
namespace {

std::string_view error_reply(parser::CommandError error, parser::Verb verb) {
  using parser::CommandError;
  switch (error) {
    case CommandError::none:
    case CommandError::unrecognized:
      return replies::kUnrecognized;
    case CommandError::line_too_long:
      return replies::kLineTooLong;
    case CommandError::syntax:
      return replies::syntax_error(verb);
    case CommandError::bad_sender:
      return replies::kBadSender;
    case CommandError::bad_recipient:
      return replies::kBadRecipient;
    case CommandError::unknown_parameter:
      return replies::kUnknownParameter;
    case CommandError::bad_parameter_value:
      return replies::kBadParameterValue;
  }
  return replies::kUnrecognized;
}

std::string decode_xtext(std::string_view xtext) {
  std::string decoded(xtext.size(), '\0');
  const auto length = parser::xtext_decode(xtext, decoded.data());
  decoded.resize(length.value_or(0));  // the parser has already checked the syntax
  return decoded;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

ReplyTo reply_to(parser::Verb verb) {
  using parser::Verb;
  switch (verb) {
    case Verb::helo:
      return ReplyTo::helo;
    case Verb::ehlo:
      return ReplyTo::ehlo;
    case Verb::mail:
      return ReplyTo::mail;
    case Verb::rcpt:
      return ReplyTo::rcpt;
    case Verb::data:
      return ReplyTo::data;
    case Verb::bdat:
      return ReplyTo::bdat;
    case Verb::rset:
      return ReplyTo::rset;
    case Verb::noop:
      return ReplyTo::noop;
    case Verb::quit:
      return ReplyTo::quit;
    case Verb::vrfy:
      return ReplyTo::vrfy;
    case Verb::expn:
      return ReplyTo::expn;
    case Verb::help:
      return ReplyTo::help;
    case Verb::starttls:
      return ReplyTo::starttls;
    case Verb::auth:
      return ReplyTo::auth;
    case Verb::xclient:
      return ReplyTo::xclient;
    default:
      return ReplyTo::unknown;
  }
}

// Postfix's junk commands (smtpd_junk_command_limit): harmless alone, but each restarts the
// command timeout, so past a limit they count as errors (Session::junk_command). An empty
// BDAT chunk that is not the last carries nothing either (RFC 3030 §2 allows it).
bool is_junk(const parser::Command& command) {
  using parser::Verb;
  const auto verb = command.verb;
  return verb == Verb::noop || verb == Verb::rset || verb == Verb::vrfy || verb == Verb::expn ||
         verb == Verb::help || (verb == Verb::bdat && command.bdat_size == 0 && !command.bdat_last);
}

// RFC 2920 §3.1 and RFC 4954 §4: the client waits for these commands' replies before it
// sends anything more. STARTTLS is not here: input behind it is discarded (RFC 3207 §4.2).
// Nor is QUIT, after which nothing is read.
bool ends_a_group(parser::Verb verb) {
  using parser::Verb;
  return verb == Verb::ehlo || verb == Verb::helo || verb == Verb::data || verb == Verb::auth ||
         verb == Verb::noop || verb == Verb::vrfy || verb == Verb::expn;
}

}  // namespace

void Session::on_command(std::string_view line) {
  const auto parsed = parser::parse_command(line, context_->limits().command);
  const auto& command = parsed.command;
  const auto before = output_.size();
  using parser::Verb;
  if (parsed.error != parser::CommandError::none ||
      (command.verb != Verb::rcpt && command.verb != Verb::data && command.verb != Verb::bdat))
    mail_refused_unsent_ = false;
  if (parsed.error != parser::CommandError::none) {
    const auto sequence = out_of_sequence(command.verb);
    reject(sequence.empty() ? error_reply(parsed.error, command.verb) : sequence);
  } else if (input_follows_ && ends_a_group(command.verb) &&
             context_->limits().forbid_improper_pipelining) {
    close_with(replies::kPipeliningSync, CloseReason::improper_pipelining);
  } else if (access_denied_ && command.verb != Verb::quit && command.verb != Verb::bdat) {
    // A BDAT still goes its usual way: refused for want of MAIL, its chunk read, never run.
    reject(replies::kAccessDenied);
  } else {
    dispatch(command);
    if (is_junk(command)) junk_command();
  }
  // A BDAT chunk is answered once it has been read (finish_bdat_chunk counts it).
  if (command.verb != parser::Verb::bdat || parsed.error != parser::CommandError::none)
    answered(reply_to(command.verb), before);
}

void Session::dispatch(const parser::Command& command) {
  using parser::Verb;
  switch (command.verb) {
    case Verb::helo:
      on_helo(command, false);
      break;
    case Verb::ehlo:
      on_helo(command, true);
      break;
    case Verb::mail:
      on_mail(command);
      break;
    case Verb::rcpt:
      on_rcpt(command);
      break;
    case Verb::data:
      on_data();
      break;
    case Verb::bdat:
      on_bdat(command);
      break;
    case Verb::rset:  // RFC 5321 §4.1.1.5
      end_transaction();
      reply(replies::kOk);
      break;
    case Verb::noop:
      reply(replies::kOk);
      break;
    case Verb::quit:
      close_with(replies::kBye, CloseReason::quit);
      break;
    case Verb::vrfy:
      reply(replies::kCannotVrfy);
      break;
    case Verb::expn:
      reply(replies::kExpnDisabled);
      break;
    case Verb::help:
      reply(replies::kHelp);
      break;
    case Verb::starttls:
      on_starttls();
      break;
    case Verb::auth:
      on_auth(command);
      break;
    case Verb::xclient:
      on_xclient(command);
      break;
    case Verb::unknown:
      reject(replies::kUnrecognized);
      break;
  }
}

// RFC 5321 §4.1.4: HELO/EHLO may come again at any time and reset the transaction.
void Session::on_helo(const parser::Command& command, bool extended) {
  end_transaction();
  helo_.assign(command.argument);
  esmtp_ = extended;
  reply(extended ? context_->ehlo_reply(tls_active(), connection_.xclient_trusted)
                 : context_->helo_reply());
}

void Session::on_mail(const parser::Command& command) {
  const auto& limits = context_->limits();
  const auto& parameters = command.mail;
  if (const auto sequence = out_of_sequence(parser::Verb::mail); !sequence.empty())
    return reject(sequence);
  if (context_->submission()) {
    // RFC 6409 §4.3 and RFC 4954: submission is for authenticated users, over TLS.
    if (!tls_active() && context_->config().starttls_available)
      return reject(replies::kStarttlsFirst);
    if (!authenticated()) return reject(replies::kAuthRequired);
  }
  if (messages_ >= limits.max_messages) return reject(replies::kTooManyMessages);
  if (parameters.has_size && parameters.size > limits.max_message_size)
    return refuse_mail(replies::kMessageTooBig);  // RFC 1870 §6
  if (command.path.utf8 && !parameters.smtputf8) return reject(replies::kNeedSmtputf8);
  if (parameters.requiretls && !tls_active()) return reject(replies::kRequiretlsNeedsTls);
  // Before the rate limit: a message we cannot take now uses none of the client's rate.
  if (!room_for_declared(parameters.has_size ? parameters.size : 0))
    return refuse_mail(replies::kStorageFull);
  if (!services_.admit_message(*this)) return refuse_mail(replies::kMessageRateExceeded);

  transaction_ = std::make_unique<Transaction>();
  auto& envelope = transaction_->envelope;
  envelope.client_address = connection_.client_address;
  envelope.client_port = connection_.client_port;
  envelope.listener = connection_.listener;
  envelope.role = connection_.role;
  if (connection_.proxy) envelope.proxy = *connection_.proxy;
  envelope.helo = helo_;
  envelope.esmtp = esmtp_;
  if (tls_) envelope.tls = *tls_;
  envelope.auth_identity = auth_identity_;
  if (!command.path.null) envelope.mail_from.assign(command.path.mailbox);
  envelope.body = parameters.body;
  envelope.smtputf8 = parameters.smtputf8;
  envelope.requiretls = parameters.requiretls;
  envelope.ret = parameters.ret;
  envelope.declared_size = parameters.has_size ? parameters.size : 0;
  if (!parameters.envid.empty()) envelope.envid = decode_xtext(parameters.envid);
  // RFC 4954 §5: AUTH= from a client we have not authenticated is not to be trusted.
  if (authenticated() && !parameters.auth.empty())
    envelope.mail_auth = decode_xtext(parameters.auth);
  reply(replies::kSenderOk);
}

void Session::refuse_mail(std::string_view text) {
  reply(text);
  mail_refused_unsent_ = true;
}

// Postfix checks a MAIL's or RCPT's place in the dialogue before it reads the arguments: a
// client that got both wrong hears of the sequence first, whatever it put in the line.
std::string_view Session::out_of_sequence(parser::Verb verb) const {
  // DESIGN.md; RFC 5321 §4.1.4. A transaction open means MAIL passed the submission checks.
  if (verb == parser::Verb::mail && helo_.empty()) return replies::kHeloFirst;
  if (verb == parser::Verb::mail && transaction_) return replies::kNestedMail;
  if (verb == parser::Verb::rcpt && !transaction_) return replies::kNeedMail;
  return {};
}

void Session::need_mail() {
  if (mail_refused_unsent_) return reply(replies::kNeedMail);
  reject(replies::kNeedMail);
}

void Session::on_rcpt(const parser::Command& command) {
  if (!transaction_) return need_mail();
  auto& envelope = transaction_->envelope;
  if (transaction_->content_started) return reject(replies::kRcptAfterBdat);
  if (envelope.recipients.size() >= context_->limits().max_recipients)
    return reply(replies::kTooManyRecipients);
  if (command.path.utf8 && !envelope.smtputf8) return reject(replies::kNeedSmtputf8);
  if (const auto& check = context_->config().recipients) {
    // DESIGN.md: no open relay; unknown users are refused now, never bounced later.
    const bool may_relay = authenticated() && context_->submission();
    switch (check->check(command.path.local_part, command.path.domain, may_relay)) {
      case RcptVerdict::accept:
        break;
      case RcptVerdict::unknown_user:
        return reject(replies::kUnknownUser);
      case RcptVerdict::relay_denied:
        return reject(replies::kRelayDenied);
    }
  }
  auto& recipient = envelope.recipients.emplace_back();
  recipient.address.assign(command.path.mailbox);
  recipient.notify = command.rcpt.notify;
  if (!command.rcpt.orcpt_type.empty()) {
    recipient.orcpt.assign(command.rcpt.orcpt_type);
    recipient.orcpt += ';';
    // Read as xtext, a utf-8 address's UTF-8 was no xtext at all: it was stored empty.
    if (parser::is_utf8_address_type(command.rcpt.orcpt_type))
      recipient.orcpt += command.rcpt.orcpt_address;
    else
      recipient.orcpt += decode_xtext(command.rcpt.orcpt_address);
  }
  // A recipient given twice would be stored twice and delivered twice downstream: it is
  // accepted once, as Postfix's cleanup keeps one of each (address, NOTIFY and ORCPT alike),
  // and not counted again against the rate limits.
  if (transaction_->repeats_last_recipient()) {
    transaction_->drop_last_recipient();
    return reply(replies::kRecipientOk);
  }
  if (!room_for_recipient()) {
    transaction_->drop_last_recipient();
    return reply(replies::kTooManyRecipients);
  }
  if (!services_.admit_recipient(*this)) {
    transaction_->envelope_bytes -= recipient_bytes(envelope.recipients.back());
    transaction_->drop_last_recipient();
    return reply(replies::kRecipientRateExceeded);
  }
  reply(replies::kRecipientOk);
}

void Session::on_data() {
  if (!transaction_) return need_mail();
  const auto& envelope = transaction_->envelope;
  if (transaction_->content_started) return reject(replies::kDataAfterBdat);
  if (envelope.body == parser::Body::binary_mime) return reject(replies::kBinaryNeedsBdat);
  if (envelope.recipients.empty()) return reject(replies::kNoValidRecipients);
  if (!services_.accepting_messages()) return reply(replies::kSystemBusy);
  start_content();
  data_.reset();
  mode_ = Mode::data;
  reply(replies::kStartData);
}

// RFC 3030 §2: the chunk's octets follow the command whatever we answer, so they are always
// read (and dropped when refused): they must never be taken for commands.
void Session::on_bdat(const parser::Command& command) {
  bdat_refusal_ = {};
  bdat_refusal_excused_ = false;
  if (!transaction_) {
    bdat_refusal_ = replies::kNeedMail;
    bdat_refusal_excused_ = mail_refused_unsent_;
  } else if (transaction_->envelope.recipients.empty()) {
    bdat_refusal_ = replies::kNoValidRecipients;
  } else if (!transaction_->content_started && !services_.accepting_messages()) {
    bdat_refusal_ = replies::kSystemBusy;  // the chunk is still read, then refused
  } else {
    if (!transaction_->content_started) {
      start_content();
      transaction_->envelope.chunked = true;
      transaction_->bdat_content =
          parser::ContentChecker({.max_line = context_->limits().max_data_line});
    }
    if (command.bdat_size > context_->limits().max_message_size - transaction_->body_size())
      bdat_refusal_ = replies::kMessageTooBig;  // RFC 1870 §6 and RFC 3030 §2
  }
  bdat_chunk_ = parser::BdatChunk(command.bdat_size);
  bdat_chunk_size_ = command.bdat_size;
  bdat_last_ = command.bdat_last;
  mode_ = Mode::bdat;
  if (bdat_chunk_.complete()) finish_bdat_chunk();
}

void Session::on_starttls() {
  if (tls_active()) return reject(replies::kTlsAlreadyActive);
  if (!context_->config().starttls_available) return reject(replies::kStarttlsUnavailable);
  if (transaction_) return reject(replies::kTransactionInProgress);
  reply(replies::kReadyForTls);
  // RFC 3207 §4.2, CVE-2011-0411: plaintext pipelined behind STARTTLS is discarded, never
  // processed after the handshake as if it had been encrypted.
  wait_ = Wait::tls_handshake;
  lines_.reset();
  partial_line_.release();
  backlog_.release();
  backlog_offset_ = 0;
}

void Session::on_auth(const parser::Command& command) {
  const auto& config = context_->config();
  if (!config.auth_available || !context_->submission()) return reject(replies::kAuthUnavailable);
  if (!tls_active()) return reject(replies::kAuthNeedsTls);  // RFC 4954 §4, DESIGN.md
  if (authenticated()) return reject(replies::kAlreadyAuthenticated);
  if (transaction_) return reject(replies::kTransactionInProgress);
  const bool plain = iequals(command.argument, "PLAIN");
  if (!plain && !iequals(command.argument, "LOGIN")) return reject(replies::kUnknownMechanism);
  sasl_ = std::make_unique<SaslExchange>();
  sasl_->login = !plain;
  mode_ = Mode::sasl;
  if (!command.auth_initial_response.empty()) {
    // RFC 4954 §4: "=" stands for an empty initial response.
    on_sasl_line(command.auth_initial_response == "=" ? std::string_view{}
                                                      : command.auth_initial_response);
    return;
  }
  reply(plain ? replies::kSaslEmptyChallenge : replies::kSaslUsername);
}

void Session::on_sasl_line(std::string_view line) {
  const auto fail = [this](std::string_view text) {
    sasl_.reset();
    mode_ = Mode::command;
    reject(text);
  };
  if (line == "*") return fail(replies::kAuthCancelled);  // RFC 4954 §4
  auto decoded = sasl::base64_decode(line);
  if (!decoded) return fail(replies::kAuthBadEncoding);
  auth_ = std::make_unique<AuthRequest>();
  if (!sasl_->login) {
    auto credentials = sasl::decode_plain(*decoded);
    explicit_bzero(decoded->data(), decoded->size());
    if (!credentials) {
      auth_.reset();
      return fail(replies::kAuthBadEncoding);
    }
    auth_->mechanism = "PLAIN";
    auth_->authzid = std::move(credentials->authzid);
    auth_->user = std::move(credentials->authcid);
    auth_->password = std::move(credentials->password);
  } else if (!sasl_->have_user) {
    sasl_->user = std::move(*decoded);
    sasl_->have_user = true;
    auth_.reset();
    reply(replies::kSaslPassword);
    return;
  } else {
    auth_->mechanism = "LOGIN";
    auth_->user = std::move(sasl_->user);
    auth_->password = std::move(*decoded);
  }
  sasl_.reset();
  mode_ = Mode::command;
  if (auth_->user.empty() || auth_->password.empty()) {
    auth_.reset();
    return reject(replies::kAuthInvalid);
  }
  wait_ = Wait::auth;
}

// Postfix's XCLIENT: a trusted proxy (nginx's mail module, a Postfix front end) says who its
// client is. The session then starts over as if that client had connected: the 220 greeting
// again, HELO/EHLO expected, and the envelope records the client named and the proxy that
// named it. Only --xclient-trusted peers may use it (Postfix: smtpd_authorized_xclient_hosts).
void Session::on_xclient(const parser::Command& command) {
  if (!connection_.xclient_trusted) return reject(replies::kXclientNotAuthorized);
  if (transaction_) return reject(replies::kTransactionInProgress);
  parser::XclientAttributes attributes;
  if (!parser::parse_xclient(command.argument, attributes))
    return reject(replies::kXclientBadAttribute);
  using A = parser::XclientAttribute;
  const auto value = [&](A a) -> std::optional<std::string> {
    if (!attributes.has(a)) return std::nullopt;
    auto text = decode_xtext(attributes[a]);
    if (text == parser::kXclientUnavailable || text == parser::kXclientTempUnavailable)
      text.clear();
    return text;
  };
  ConnectionInfo named = connection_;
  if (auto addr = value(A::addr); addr && !addr->empty()) {
    const bool v6 = addr->size() > 5 && strncasecmp(addr->c_str(), "IPV6:", 5) == 0;
    const auto text = v6 ? addr->substr(5) : *addr;
    // Postfix's form: IPv6 only behind "IPV6:", IPv4 never.
    const auto parsed = parse_address(text);
    if (!parsed || parsed->ipv4 == v6) return reject(replies::kXclientBadAttribute);
    named.client_address = text;
    named.client_octets = parsed->octets;
  }
  if (auto port = value(A::port); port && !port->empty()) {
    unsigned number = 0;
    const auto [end, error] = std::from_chars(port->data(), port->data() + port->size(), number);
    if (error != std::errc{} || end != port->data() + port->size() || number > 65535)
      return reject(replies::kXclientBadAttribute);
    named.client_port = static_cast<std::uint16_t>(number);
  }
  const auto proto = value(A::proto);
  if (proto && !proto->empty() && !iequals(*proto, "SMTP") && !iequals(*proto, "ESMTP"))
    return reject(replies::kXclientBadAttribute);
  const auto helo = value(A::helo);
  const auto login = value(A::login);
  const auto name = value(A::name);
  for (const auto* text : {&helo, &login, &name})
    if (*text && !parser::is_valid_utf8(**text)) return reject(replies::kXclientBadAttribute);

  // Valid: from here on this is the named client's session.
  auto proxy = std::make_shared<ProxyInfo>();
  proxy->peer =
      connection_.client_address.find(':') == std::string::npos
          ? connection_.client_address + ":" + std::to_string(connection_.client_port)
          : "[" + connection_.client_address + "]:" + std::to_string(connection_.client_port);
  proxy->via = "xclient";
  if (name) proxy->client_name = *name;
  named.proxy = std::move(proxy);
  connection_ = std::move(named);
  end_transaction();
  helo_ = helo.value_or(std::string());
  esmtp_ = proto ? iequals(*proto, "ESMTP") : esmtp_;
  if (login) auth_identity_ = *login;
  greet_or_refuse();
}

}  // namespace mxring::engine
