// SMTP command-line grammar (RFC 5321 §4.1.1 and the ESMTP extensions mxring advertises).
// A verb table dispatches to one small parser per argument shape.
#include "mxring/parser/command.h"

#include <array>
#include <cstring>

#include "char_class.h"
#include "mxring/parser/text.h"
#include "path_internal.h"

namespace mxring::parser {
namespace {

using detail::iequals;
using detail::is;

constexpr std::uint32_t word(const char (&s)[5]) {
  return static_cast<std::uint32_t>(s[0]) | static_cast<std::uint32_t>(s[1]) << 8 |
         static_cast<std::uint32_t>(s[2]) << 16 | static_cast<std::uint32_t>(s[3]) << 24;
}

// Four octets, each ORed with 0x20: that maps exactly the letters onto lower case.
std::uint32_t load_folded4(const char* p) {
  std::uint32_t w;
  std::memcpy(&w, p, 4);
  return w | 0x20202020u;
}

// The four-letter verb at the start of the line, any case; STARTTLS is checked by the caller.
Verb verb_of(std::string_view line) {
  if (line.size() < 4) return Verb::unknown;
  switch (load_folded4(line.data())) {
    case word("helo"):
      return Verb::helo;
    case word("ehlo"):
      return Verb::ehlo;
    case word("mail"):
      return Verb::mail;
    case word("rcpt"):
      return Verb::rcpt;
    case word("data"):
      return Verb::data;
    case word("rset"):
      return Verb::rset;
    case word("noop"):
      return Verb::noop;
    case word("quit"):
      return Verb::quit;
    case word("vrfy"):
      return Verb::vrfy;
    case word("expn"):
      return Verb::expn;
    case word("help"):
      return Verb::help;
    case word("auth"):
      return Verb::auth;
    case word("bdat"):
      return Verb::bdat;
    case word("star"):
      return iequals(line.substr(0, 8), "starttls") ? Verb::starttls : Verb::unknown;
    case word("xcli"):
      return iequals(line.substr(0, 7), "xclient") ? Verb::xclient : Verb::unknown;
    default:
      return Verb::unknown;
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

// 1*20DIGIT; values past UINT64_MAX saturate (a SIZE that large is refused with 552 anyway).
bool parse_decimal(std::string_view s, std::uint64_t& value) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (const char c : s) {
    const unsigned digit = static_cast<unsigned char>(c) - unsigned{'0'};
    if (digit > 9) return false;
    v = v * 10 + digit;
  }
  if (s.size() == 20) {  // 19 digits always fit in 64 bits; 20 may not (rare)
    v = 0;
    for (const char c : s) {
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (v > (UINT64_MAX - digit) / 10) {
        v = UINT64_MAX;
        break;
      }
      v = v * 10 + digit;
    }
  }
  value = v;
  return true;
}

// The two parameters nearly every MAIL carries, `SIZE=<1-19 digits>` and `BODY=8BITMIME` /
// `BODY=7BIT`, read in place: no separate class scan of keyword and value, no folding of
// each. Anything else, or anything unusual about these (a repeat, 20 digits, another BODY
// value, a following octet that is not a space), returns false with `p` unmoved, and the
// general grammar below decides.
bool common_mail_parameter(const char*& p, const char* end, Command& command, std::uint32_t& seen) {
  if (end - p < 6 || p[4] != '=') return false;
  const auto keyword = load_folded4(p);
  const char* const value = p + 5;
  const char* q = value;
  if (keyword == word("size")) {
    if (seen & 1) return false;
    std::uint64_t size = 0;
    const char* const limit = end - value > 19 ? value + 19 : end;  // 19 digits always fit
    unsigned digit;
    while (q < limit && (digit = static_cast<unsigned char>(*q) - unsigned{'0'}) <= 9) {
      size = size * 10 + digit;
      ++q;
    }
    if (q == value || (q < end && *q != ' ')) return false;
    command.mail.has_size = true;
    command.mail.size = size;
    seen |= 1;
  } else if (keyword == word("body")) {
    // The leading digit is compared exactly: folding would also map control octets onto it.
    if ((seen & 2) || *value < '7' || *value > '8') return false;
    const bool eight = *value == '8';
    const std::size_t length = eight ? 8 : 4;
    if (static_cast<std::size_t>(end - value) < length) return false;
    if (eight) {
      std::uint64_t w;
      std::memcpy(&w, value, 8);
      if ((w | 0x2020202020202000u) != detail::Word("8bitmime").folded) return false;
    } else if (load_folded4(value) != word("7bit")) {
      return false;
    }
    q = value + length;
    if (q < end && *q != ' ') return false;
    command.mail.body = eight ? Body::eight_bit_mime : Body::seven_bit;
    seen |= 2;
  } else {
    return false;
  }
  p = q;
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
    if (iequals(item, "SUCCESS"))
      bit = kNotifySuccess;
    else if (iequals(item, "FAILURE"))
      bit = kNotifyFailure;
    else if (iequals(item, "DELAY"))
      bit = kNotifyDelay;
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

using detail::FoldedText;

// Marks `bit` seen; false when it was already (a repeated parameter, RFC 5321 §4.1.1.11 gives
// each at most once).
inline bool first_time(std::uint32_t& seen, std::uint32_t bit) {
  const bool first = !(seen & bit);
  seen |= bit;
  return first;
}

inline CommandError check(bool ok) {
  return ok ? CommandError::none : CommandError::bad_parameter_value;
}

// MAIL FROM keywords. Keywords and values hold only octets 33..126 here (checked by the caller),
// so they are matched by length and one folded word.
CommandError mail_parameter(std::string_view keyword, std::string_view value, bool has_value,
                            Command& command, std::uint32_t& seen) {
  auto& mail = command.mail;
  const FoldedText name(keyword);
  if (name.is("size")) {  // RFC 1870
    mail.has_size = true;
    return check(first_time(seen, 1) && has_value && parse_decimal(value, mail.size));
  }
  if (name.is("body")) {  // RFC 6152, RFC 3030
    const FoldedText body(value);
    if (body.is("8bitmime"))
      mail.body = Body::eight_bit_mime;
    else if (body.is("7bit"))
      mail.body = Body::seven_bit;
    else if (iequals(value, "binarymime"))
      mail.body = Body::binary_mime;
    else
      return CommandError::bad_parameter_value;
    return check(first_time(seen, 2));
  }
  if (name.is("smtputf8")) {  // RFC 6531
    mail.smtputf8 = true;
    return check(first_time(seen, 4) && !has_value);
  }
  if (iequals(keyword, "requiretls")) {  // RFC 8689
    mail.requiretls = true;
    return check(first_time(seen, 8) && !has_value);
  }
  if (name.is("ret")) {  // RFC 3461 §4.3
    const FoldedText ret(value);
    if (ret.is("full"))
      mail.ret = Ret::full;
    else if (ret.is("hdrs"))
      mail.ret = Ret::headers;
    else
      return CommandError::bad_parameter_value;
    return check(first_time(seen, 16));
  }
  if (name.is("envid")) {  // RFC 3461 §4.4: xtext, at most 100 characters
    mail.envid = value;
    const auto decoded = xtext_decode(value, nullptr);
    return check(first_time(seen, 32) && has_value && decoded && *decoded <= 100);
  }
  if (name.is("auth")) {  // RFC 4954 §5
    mail.auth = value;
    return check(first_time(seen, 64) && has_value && (value == "<>" || is_xtext(value)));
  }
  return CommandError::unknown_parameter;
}

CommandError rcpt_parameter(std::string_view keyword, std::string_view value, bool has_value,
                            Command& command, std::uint32_t& seen) {
  const FoldedText name(keyword);
  if (name.is("notify"))
    return check(first_time(seen, 1) && has_value && parse_notify(value, command.rcpt.notify));
  if (name.is("orcpt"))
    return check(first_time(seen, 2) && has_value && parse_orcpt(value, command.rcpt));
  return CommandError::unknown_parameter;
}

// Mail-parameters / Rcpt-parameters: esmtp-param *(SP esmtp-param) (§4.1.2), one pass per
// parameter. Several spaces between parameters are accepted, as Postfix does.
// `handler` is mail_parameter or rcpt_parameter; a template argument so it inlines.
template <auto handler>
CommandError parse_parameters(std::string_view rest, Command& command) {
  std::uint32_t seen = 0;
  CommandError first_error = CommandError::none;
  const char* p = rest.data();
  const char* const end = p + rest.size();
  while (true) {
    while (p < end && *p == ' ') ++p;
    if (p == end) return first_error;
    if constexpr (handler == &mail_parameter)
      if (common_mail_parameter(p, end, command, seen)) continue;
    // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    const char* const keyword_start = p;
    if (!is(*p, detail::kLetDig)) return CommandError::syntax;
    while (p < end && is(*p, detail::kKeyword)) ++p;
    const std::string_view keyword(keyword_start, static_cast<std::size_t>(p - keyword_start));
    const bool has_value = p < end && *p == '=';
    std::string_view value;
    if (has_value) {
      // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 with SMTPUTF8 (RFC 6531 §3.3)
      const char* const value_start = ++p;
      while (p < end && is(*p, detail::kValueOctet)) ++p;
      value = {value_start, static_cast<std::size_t>(p - value_start)};
      if (value.empty()) return CommandError::syntax;
    }
    if (p < end && *p != ' ') return CommandError::syntax;
    const auto error = handler(keyword, value, has_value, command, seen);
    // An unknown keyword (555) outranks a bad value (501): the client must learn the
    // extension is not there at all.
    if (error == CommandError::unknown_parameter) return error;
    if (first_error == CommandError::none) first_error = error;
  }
}

CommandError parse_mail_or_rcpt(std::string_view args, Command& command) {
  const bool mail = command.verb == Verb::mail;
  const std::size_t prefix = mail ? 6 : 4;
  // ORing 0x20 folds exactly the letters, and only letters are compared.
  if (args.size() < prefix || args[0] != ' ' || args[prefix - 1] != ':' ||
      !(mail ? load_folded4(args.data() + 1) == word("from")
             : (args[1] | 0x20) == 't' && (args[2] | 0x20) == 'o'))
    return CommandError::syntax;
  // Postfix accepts spaces after the colon ("MAIL FROM: <a@b>"); so do we, nothing looser.
  const auto text = skip_spaces(args.substr(prefix));
  const auto bad_path = mail ? CommandError::bad_sender : CommandError::bad_recipient;
  if (text.empty()) return bad_path;
  const auto consumed =
      detail::parse_path_fast(text, mail ? PathKind::reverse : PathKind::forward, command.path);
  if (consumed == 0) {
    command.path = {};
    return bad_path;
  }
  const auto rest = text.substr(consumed);
  if (!rest.empty() && rest[0] != ' ') return bad_path;
  return mail ? parse_parameters<mail_parameter>(rest, command)
              : parse_parameters<rcpt_parameter>(rest, command);
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
    case Verb::xclient: {
      // One or more attribute=value words; parse_xclient() reads them.
      const auto list = trim_trailing_spaces(args);
      if (list.size() < 2 || list[0] != ' ') return CommandError::syntax;
      command.argument = skip_spaces(list);
      for (const char c : command.argument)
        if (c != ' ' && !is(c, detail::kPrintable)) return CommandError::syntax;
      return CommandError::none;
    }
    case Verb::bdat:
      return parse_bdat(args, command);
    case Verb::unknown:
      break;
  }
  return CommandError::unrecognized;
}

constexpr std::array<std::string_view, 16> kVerbNames = {
    "",     "HELO", "EHLO", "MAIL", "RCPT",     "DATA", "RSET", "NOOP",
    "QUIT", "VRFY", "EXPN", "HELP", "STARTTLS", "AUTH", "BDAT", "XCLIENT"};

}  // namespace

std::string_view verb_name(Verb verb) {
  return kVerbNames[static_cast<std::size_t>(verb)];
}

ParsedCommand parse_command(std::string_view line, const CommandLimits& limits) {
  ParsedCommand parsed;
  auto& command = parsed.command;
  command.verb = verb_of(line);
  if (command.verb == Verb::unknown) {
    parsed.error = CommandError::unrecognized;
    return parsed;
  }
  const std::size_t verb_length = command.verb == Verb::starttls  ? 8
                                  : command.verb == Verb::xclient ? 7
                                                                  : 4;
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
