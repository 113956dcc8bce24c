// SMTP command-line grammar (RFC 5321 §4.1.1 and the ESMTP extensions mxring advertises).
// A verb table dispatches to one small parser per argument shape.
#include "mxring/parser/command.h"

#include <array>
#include <cstring>

#include "char_class.h"
#include "mxring/parser/text.h"

namespace mxring::parser {
namespace {

using detail::iequals;
using detail::is;

constexpr std::uint32_t word(const char (&s)[5]) {
  return static_cast<std::uint32_t>(s[0]) | static_cast<std::uint32_t>(s[1]) << 8 |
         static_cast<std::uint32_t>(s[2]) << 16 | static_cast<std::uint32_t>(s[3]) << 24;
}

// The four-letter verb at the start of the line, any case; STARTTLS is checked by the caller.
Verb verb_of(std::string_view line) {
  if (line.size() < 4) return Verb::unknown;
  std::uint32_t w;
  std::memcpy(&w, line.data(), 4);
  switch (w | 0x20202020u) {  // ORing 0x20 maps exactly the letters onto lower case
    case word("helo"): return Verb::helo;
    case word("ehlo"): return Verb::ehlo;
    case word("mail"): return Verb::mail;
    case word("rcpt"): return Verb::rcpt;
    case word("data"): return Verb::data;
    case word("rset"): return Verb::rset;
    case word("noop"): return Verb::noop;
    case word("quit"): return Verb::quit;
    case word("vrfy"): return Verb::vrfy;
    case word("expn"): return Verb::expn;
    case word("help"): return Verb::help;
    case word("auth"): return Verb::auth;
    case word("bdat"): return Verb::bdat;
    case word("star"): return iequals(line.substr(0, 8), "starttls") ? Verb::starttls : Verb::unknown;
    default: return Verb::unknown;
  }
}

std::string_view trim_trailing_spaces(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::string_view skip_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

bool all_of_class(std::string_view s, detail::CharClass cls) {
  for (char c : s)
    if (!is(c, cls)) return false;
  return true;
}

// Text arguments (VRFY, EXPN, HELP, NOOP): printable octets and spaces; UTF-8 also allowed so
// an SMTPUTF8 client may VRFY its address (RFC 6531 §3.7.4.2).
bool is_text_argument(std::string_view s) {
  for (char c : s)
    if (c != ' ' && !is(c, detail::kPrintable) && !(static_cast<unsigned char>(c) & 0x80))
      return false;
  return is_valid_utf8(s);
}

bool parse_decimal(std::string_view s, std::uint64_t& value) {
  if (s.empty() || s.size() > 20) return false;
  value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    value = value > (UINT64_MAX - digit) / 10 ? UINT64_MAX : value * 10 + digit;
  }
  return true;
}

// NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) (RFC 3461 §4.1)
bool parse_notify(std::string_view value, std::uint8_t& notify) {
  if (iequals(value, "NEVER")) {
    notify = kNotifyNever;
    return true;
  }
  notify = 0;
  while (true) {
    const auto comma = value.find(',');
    const auto item = value.substr(0, comma);
    std::uint8_t bit = 0;
    if (iequals(item, "SUCCESS")) bit = kNotifySuccess;
    else if (iequals(item, "FAILURE")) bit = kNotifyFailure;
    else if (iequals(item, "DELAY")) bit = kNotifyDelay;
    if (bit == 0 || (notify & bit)) return false;
    notify |= bit;
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

// ORCPT = addr-type ";" xtext (RFC 3461 §4.2); "utf-8" addresses may carry UTF-8 (RFC 6533).
bool parse_orcpt(std::string_view value, RcptParameters& rcpt) {
  const auto semicolon = value.find(';');
  if (semicolon == 0 || semicolon == std::string_view::npos) return false;
  rcpt.orcpt_type = value.substr(0, semicolon);
  rcpt.orcpt_address = value.substr(semicolon + 1);
  if (!all_of_class(rcpt.orcpt_type, detail::kAtext) || rcpt.orcpt_address.empty()) return false;
  if (iequals(rcpt.orcpt_type, "utf-8")) return is_valid_utf8(rcpt.orcpt_address);
  return is_xtext(rcpt.orcpt_address);
}

using ParameterHandler = CommandError (*)(std::string_view keyword, std::string_view value,
                                          bool has_value, Command& command, std::uint32_t& seen);

// Each known keyword of one verb: name, its bit in `seen` (for duplicates), its parser.
CommandError mail_parameter(std::string_view keyword, std::string_view value, bool has_value,
                            Command& command, std::uint32_t& seen) {
  auto& mail = command.mail;
  auto once = [&seen](std::uint32_t bit) {
    const bool first = !(seen & bit);
    seen |= bit;
    return first;
  };
  const auto bad = CommandError::bad_parameter_value;
  if (iequals(keyword, "SIZE")) {
    mail.has_size = true;
    return once(1) && has_value && parse_decimal(value, mail.size) ? CommandError::none : bad;
  }
  if (iequals(keyword, "BODY")) {
    if (!once(2) || !has_value) return bad;
    if (iequals(value, "8BITMIME")) mail.body = Body::eight_bit_mime;
    else if (iequals(value, "7BIT")) mail.body = Body::seven_bit;
    else if (iequals(value, "BINARYMIME")) mail.body = Body::binary_mime;
    else return bad;
    return CommandError::none;
  }
  if (iequals(keyword, "SMTPUTF8")) {
    mail.smtputf8 = true;
    return once(4) && !has_value ? CommandError::none : bad;
  }
  if (iequals(keyword, "REQUIRETLS")) {
    mail.requiretls = true;
    return once(8) && !has_value ? CommandError::none : bad;
  }
  if (iequals(keyword, "RET")) {
    if (!once(16) || !has_value) return bad;
    if (iequals(value, "FULL")) mail.ret = Ret::full;
    else if (iequals(value, "HDRS")) mail.ret = Ret::headers;
    else return bad;
    return CommandError::none;
  }
  if (iequals(keyword, "ENVID")) {
    mail.envid = value;
    const auto decoded = xtext_decode(value, nullptr);
    // RFC 3461 §4.4: at most 100 characters
    return once(32) && has_value && decoded && *decoded <= 100 ? CommandError::none : bad;
  }
  if (iequals(keyword, "AUTH")) {
    mail.auth = value;
    return once(64) && has_value && (value == "<>" || is_xtext(value)) ? CommandError::none : bad;
  }
  return CommandError::unknown_parameter;
}

CommandError rcpt_parameter(std::string_view keyword, std::string_view value, bool has_value,
                            Command& command, std::uint32_t& seen) {
  const auto bad = CommandError::bad_parameter_value;
  if (iequals(keyword, "NOTIFY")) {
    const bool first = !(seen & 1);
    seen |= 1;
    return first && has_value && parse_notify(value, command.rcpt.notify) ? CommandError::none
                                                                          : bad;
  }
  if (iequals(keyword, "ORCPT")) {
    const bool first = !(seen & 2);
    seen |= 2;
    return first && has_value && parse_orcpt(value, command.rcpt) ? CommandError::none : bad;
  }
  return CommandError::unknown_parameter;
}

// Mail-parameters / Rcpt-parameters: esmtp-param *(SP esmtp-param) (§4.1.2). Several spaces
// between parameters are accepted, as Postfix does.
CommandError parse_parameters(std::string_view rest, Command& command, ParameterHandler handler) {
  std::uint32_t seen = 0;
  CommandError first_error = CommandError::none;
  while (true) {
    rest = skip_spaces(rest);
    if (rest.empty()) return first_error;
    const auto space = rest.find(' ');
    const auto parameter = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
    const auto equals = parameter.find('=');
    const auto keyword = parameter.substr(0, equals);
    const bool has_value = equals != std::string_view::npos;
    const auto value = has_value ? parameter.substr(equals + 1) : std::string_view{};
    if (keyword.empty() || !is(keyword[0], detail::kLetDig) ||
        !all_of_class(keyword, detail::kKeyword))
      return CommandError::syntax;
    for (char c : value)
      if (!is(c, detail::kParamValue) && !(static_cast<unsigned char>(c) & 0x80))
        return CommandError::syntax;
    if (has_value && value.empty()) return CommandError::syntax;
    const auto error = handler(keyword, value, has_value, command, seen);
    // An unknown keyword (555) outranks a bad value (501): the client must learn the
    // extension is not there at all.
    if (error == CommandError::unknown_parameter) return error;
    if (first_error == CommandError::none) first_error = error;
  }
}

CommandError parse_mail_or_rcpt(std::string_view args, Command& command) {
  const bool mail = command.verb == Verb::mail;
  const std::string_view prefix = mail ? " FROM:" : " TO:";
  if (args.size() < prefix.size() || !iequals(args.substr(0, prefix.size()), prefix))
    return CommandError::syntax;
  // Postfix accepts spaces after the colon ("MAIL FROM: <a@b>"); so do we, nothing looser.
  const auto text = skip_spaces(args.substr(prefix.size()));
  const auto bad_path = mail ? CommandError::bad_sender : CommandError::bad_recipient;
  if (text.empty()) return bad_path;
  const auto path = parse_path(text, mail ? PathKind::reverse : PathKind::forward);
  if (!path.ok) return bad_path;
  command.path = path.path;
  const auto rest = text.substr(path.consumed);
  if (!rest.empty() && rest[0] != ' ') return bad_path;
  return parse_parameters(rest, command, mail ? &mail_parameter : &rcpt_parameter);
}

// AUTH mechanism [initial-response] (RFC 4954 §4)
CommandError parse_auth(std::string_view args, Command& command) {
  args = trim_trailing_spaces(args);
  if (args.size() < 2 || args[0] != ' ') return CommandError::syntax;
  args.remove_prefix(1);
  const auto space = args.find(' ');
  command.argument = args.substr(0, space);
  if (command.argument.empty() || command.argument.size() > 20) return CommandError::syntax;
  for (char c : command.argument)
    if (!is(c, detail::kLetDig) && c != '-' && c != '_') return CommandError::syntax;
  if (space == std::string_view::npos) return CommandError::none;
  command.auth_initial_response = args.substr(space + 1);
  const auto& response = command.auth_initial_response;
  if (response == "=") return CommandError::none;
  if (response.empty()) return CommandError::syntax;
  for (char c : response)
    if (!is(c, detail::kLetDig) && c != '+' && c != '/' && c != '=') return CommandError::syntax;
  return CommandError::none;
}

// BDAT chunk-size [SP "LAST"] (RFC 3030 §2)
CommandError parse_bdat(std::string_view args, Command& command) {
  args = trim_trailing_spaces(args);
  if (args.size() < 2 || args[0] != ' ') return CommandError::syntax;
  args.remove_prefix(1);
  const auto space = args.find(' ');
  if (!parse_decimal(args.substr(0, space), command.bdat_size)) return CommandError::syntax;
  if (space == std::string_view::npos) return CommandError::none;
  if (!iequals(args.substr(space + 1), "LAST")) return CommandError::syntax;
  command.bdat_last = true;
  return CommandError::none;
}

CommandError parse_arguments(std::string_view args, Command& command) {
  switch (command.verb) {
    case Verb::helo:
    case Verb::ehlo: {
      // RFC 5321 §4.1.1.1: one Domain or address-literal. Like Postfix we do not judge the
      // name here (policy may), but it must be a single printable word.
      const auto name = trim_trailing_spaces(args);
      if (name.size() < 2 || name[0] != ' ') return CommandError::syntax;
      command.argument = skip_spaces(name);
      return all_of_class(command.argument, detail::kPrintable) ? CommandError::none
                                                                : CommandError::syntax;
    }
    case Verb::mail:
    case Verb::rcpt:
      return parse_mail_or_rcpt(args, command);
    case Verb::data:
    case Verb::rset:
    case Verb::quit:
    case Verb::starttls:
      return trim_trailing_spaces(args).empty() ? CommandError::none : CommandError::syntax;
    case Verb::noop:
    case Verb::help:
    case Verb::vrfy:
    case Verb::expn: {
      const auto text = trim_trailing_spaces(args);
      if (!text.empty() && text[0] != ' ') return CommandError::unrecognized;
      command.argument = skip_spaces(text);
      if (!is_text_argument(command.argument)) return CommandError::syntax;
      const bool required = command.verb == Verb::vrfy || command.verb == Verb::expn;
      return required && command.argument.empty() ? CommandError::syntax : CommandError::none;
    }
    case Verb::auth:
      return parse_auth(args, command);
    case Verb::bdat:
      return parse_bdat(args, command);
    case Verb::unknown:
      break;
  }
  return CommandError::unrecognized;
}

constexpr std::array<std::string_view, 15> kVerbNames = {
    "", "HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY",
    "EXPN", "HELP", "STARTTLS", "AUTH", "BDAT"};

}  // namespace

std::string_view verb_name(Verb verb) { return kVerbNames[static_cast<std::size_t>(verb)]; }

ParsedCommand parse_command(std::string_view line, const CommandLimits& limits) {
  ParsedCommand parsed;
  auto& command = parsed.command;
  command.verb = verb_of(line);
  if (command.verb == Verb::unknown) {
    parsed.error = CommandError::unrecognized;
    return parsed;
  }
  const std::size_t verb_length = command.verb == Verb::starttls ? 8 : 4;
  if (line.size() > verb_length && line[verb_length] != ' ') {  // e.g. "MAILX"
    command.verb = Verb::unknown;
    parsed.error = CommandError::unrecognized;
    return parsed;
  }
  // RFC 5321 §4.5.3.1.4: 512 octets with CRLF; MAIL and RCPT may add their parameters'
  // allowance (RFC 1869 §4.1.2, RFC 3461 §5, RFC 4954 §5).
  const bool has_parameters = command.verb == Verb::mail || command.verb == Verb::rcpt;
  const std::size_t cap = limits.max_line + (has_parameters ? limits.parameter_allowance : 0);
  if (line.size() + 2 > cap) {
    parsed.error = CommandError::line_too_long;
    return parsed;
  }
  parsed.error = parse_arguments(line.substr(verb_length), command);
  return parsed;
}

}  // namespace mxring::parser
