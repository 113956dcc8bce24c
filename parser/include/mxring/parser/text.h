// Small text encodings SMTP arguments use: xtext (RFC 3461 §4) and UTF-8 (RFC 3629).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace mxring::parser {

// True when `text` is well-formed xtext: octets 33..126 except '+' and '=', or "+" followed by
// two uppercase hex digits, none of which decodes to a control character (0-31, 127). Every
// xtext value SMTP carries is text (ENVID "printable", RFC 3461 §4.4; ORCPT's and AUTH='s
// addresses; XCLIENT's names), and it goes on into trace fields, envelopes and headers: a
// decoded CR LF there would start a header line of the client's making.
bool is_xtext(std::string_view text);

// Decodes xtext into `out` (room for text.size() octets); returns the decoded length, or
// nothing when `text` is not xtext.
std::optional<std::size_t> xtext_decode(std::string_view text, char* out);

// True when every octet of `text` is printable US-ASCII, 33..126: no space, no control
// character, no line break (host names from TLS and the PROXY protocol, RFC 6066 §3).
bool is_printable_ascii(std::string_view text);

// True for well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

}  // namespace mxring::parser
