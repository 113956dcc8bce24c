// Reverse-path / forward-path grammar of RFC 5321 §4.1.2 with the RFC 6531 §3.3 UTF-8 extension.
#include "mxring/parser/path.h"

#include <arpa/inet.h>

#include <cstring>

#include "char_class.h"
#include "mxring/parser/text.h"
#include "path_internal.h"

namespace mxring::parser {
namespace {

using detail::is;

constexpr std::size_t kMaxPath = 256;    // RFC 5321 §4.5.3.1.3, brackets included
constexpr std::size_t kMaxDomain = 255;  // RFC 5321 §4.5.3.1.2
constexpr std::size_t kMaxLabel = 63;    // RFC 1035 §2.3.4

bool is_eight_bit(char c) {
  return static_cast<unsigned char>(c) & 0x80;
}

// Runs of class `ascii` (the ASCII part of `all`), then, if an 8-bit octet stopped the run,
// of `all`, noting that 8-bit was seen. The common all-ASCII run pays one table test per
// octet and nothing else.
inline const char* run_of(const char* p, const char* end, detail::CharClass ascii,
                          detail::CharClass all, bool& eight_bit) {
  while (p < end && is(*p, ascii)) ++p;
  if (p < end && is_eight_bit(*p)) {
    eight_bit = true;
    while (p < end && is(*p, all)) ++p;
  }
  return p;
}

// Dot-string = Atom *("." Atom); returns octets used, 0 when none or malformed. One tight
// loop per atom; 8-bit octets are only remembered (UTF-8 is checked on the whole mailbox).
std::size_t dot_string_length(std::string_view s, bool& eight_bit) {
  const char* p = s.data();
  const char* const end = p + s.size();
  while (true) {
    const char* const atom = p;
    p = run_of(p, end, detail::kAtext, detail::kAtomOctet, eight_bit);
    if (p == atom) return 0;  // empty atom: leading, trailing or doubled dot
    if (p < end && *p == '.') {
      ++p;
      continue;
    }
    return static_cast<std::size_t>(p - s.data());
  }
}

// Quoted-string = DQUOTE *QcontentSMTP DQUOTE; returns octets used, 0 when malformed.
std::size_t quoted_string_length(std::string_view s, bool& eight_bit) {
  std::size_t i = 1;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (i + 1 >= s.size() || s[i + 1] < 32 || s[i + 1] > 126) return 0;
      i += 2;
    } else if (is(c, detail::kQtext)) {
      ++i;
    } else if (is_eight_bit(c)) {
      eight_bit = true;
      ++i;
    } else {
      return 0;
    }
  }
  return 0;
}

bool is_ipv4_literal(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t digits = 0;
    int value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 4) {
      value = value * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

struct DomainScan {
  std::size_t length = 0;  // octets up to the first that cannot be part of a domain
  bool valid = false;      // Domain or address-literal syntax (U-labels allowed)
  bool eight_bit = false;
};

// One pass over the domain or address literal at the start of `s`: where it ends, and whether
// it is well-formed: labels of 1..63 Let-dig / "-" octets not starting or ending in "-"
// (RFC 5321 §4.1.2, RFC 1035 §2.3.4), 255 octets in all (§4.5.3.1.2).
DomainScan scan_domain(std::string_view s) {
  DomainScan scan;
  if (!s.empty() && s[0] == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return scan;
    scan.length = close + 1;
    scan.valid = is_valid_address_literal(s.substr(0, scan.length));
    return scan;
  }
  // One tight loop per label; the label's ends are checked once it is whole.
  const char* const begin = s.data();
  const char* const end = begin + s.size();
  const char* p = begin;
  bool valid = true;
  while (true) {
    const char* const label = p;
    p = run_of(p, end, detail::kLdh, detail::kDomainRun, scan.eight_bit);
    const auto length = static_cast<std::size_t>(p - label);
    valid &= length != 0 && length <= kMaxLabel && label[0] != '-' && p[-1] != '-';
    if (p < end && *p == '.') {
      ++p;
      continue;
    }
    break;  // the caller decides whether what follows ('>', ' ', ',', ':') may end it
  }
  scan.length = static_cast<std::size_t>(p - begin);
  scan.valid = valid && scan.length <= kMaxDomain;
  return scan;
}

// A-d-l = At-domain *( "," At-domain ) ":" — syntax checked, then ignored (Appendix C).
std::size_t source_route_length(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && s[i] == '@') {
    const auto domain = scan_domain(s.substr(i + 1));
    if (!domain.valid || domain.eight_bit) return 0;
    i += 1 + domain.length;
    if (i < s.size() && s[i] == ':') return i + 1;
    if (i >= s.size() || s[i] != ',') return 0;
    ++i;
  }
  return 0;
}

}  // namespace

bool Path::is_postmaster() const {
  return detail::iequals(local_part, "postmaster");
}

bool is_valid_domain(std::string_view domain, bool allow_utf8) {
  if (!domain.empty() && domain[0] == '[') return false;
  const auto scan = scan_domain(domain);
  if (scan.length != domain.size() || !scan.valid) return false;
  return !scan.eight_bit || (allow_utf8 && is_valid_utf8(domain));
}

bool is_valid_address_literal(std::string_view literal) {
  if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']') return false;
  const auto inner = literal.substr(1, literal.size() - 2);
  if (is_ipv4_literal(inner)) return true;
  const auto colon = inner.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const auto tag = inner.substr(0, colon);
  const auto content = inner.substr(colon + 1);
  if (detail::iequals(tag, "IPv6")) {
    char text[INET6_ADDRSTRLEN + 1];
    if (content.size() >= sizeof text) return false;
    std::memcpy(text, content.data(), content.size());
    text[content.size()] = '\0';
    unsigned char address[16];
    return inet_pton(AF_INET6, text, address) == 1;
  }
  // General-address-literal = Standardized-tag ":" 1*dcontent (§4.1.3)
  if (!is_valid_domain(tag, false) || tag.find('.') != std::string_view::npos) return false;
  if (content.empty()) return false;
  for (char c : content)
    if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']') return false;
  return true;
}

PathParse parse_path(std::string_view text, PathKind kind) {
  PathParse result;
  result.consumed = parse_path_into(text, kind, result.path);
  result.ok = result.consumed != 0;
  return result;
}

std::size_t parse_path_into(std::string_view text, PathKind kind, Path& path) {
  return detail::parse_path_fast(text, kind, path);
}

std::size_t detail::parse_path_grammar(std::string_view text, PathKind kind, Path& path) {
  std::size_t i = 0;
  std::size_t end_limit = text.size();
  if (!text.empty() && text[0] == '<') {
    i = 1;
    if (text.size() > 1 && text[1] == '>') {
      if (kind != PathKind::reverse) return 0;
      path.null = true;
      return 2;
    }
    if (i < text.size() && text[i] == '@') {
      const auto route = source_route_length(text.substr(i));
      if (route == 0) return 0;
      i += route;
    }
  } else {
    path.bracketed = false;  // Postfix-compatible leniency: "MAIL FROM:user@example.com"
    end_limit = text.find(' ');
    if (end_limit == std::string_view::npos) end_limit = text.size();
  }
  const auto rest = text.substr(i, end_limit - i);
  bool eight_bit = false;
  const std::size_t local_length = !rest.empty() && rest[0] == '"'
                                       ? quoted_string_length(rest, eight_bit)
                                       : dot_string_length(rest, eight_bit);
  if (local_length == 0) return 0;
  path.local_part = rest.substr(0, local_length);
  std::size_t j = local_length;
  if (j < rest.size() && rest[j] == '@') {
    const auto domain = scan_domain(rest.substr(j + 1));
    if (!domain.valid) return 0;
    eight_bit |= domain.eight_bit;
    path.domain = rest.substr(j + 1, domain.length);
    j += 1 + domain.length;
  } else if (kind != PathKind::forward || !path.is_postmaster()) {
    return 0;  // only RCPT TO:<postmaster> may omit the domain (§4.1.1.3)
  }
  path.mailbox = rest.substr(0, j);
  std::size_t consumed;
  if (path.bracketed) {
    if (j >= rest.size() || rest[j] != '>') return 0;
    consumed = i + j + 1;
  } else {
    if (j != rest.size()) return 0;
    consumed = i + j;
  }
  path.utf8 = eight_bit;
  if (eight_bit && !is_valid_utf8(path.mailbox)) return 0;
  if (consumed > kMaxPath) return 0;
  return consumed;
}

}  // namespace mxring::parser
