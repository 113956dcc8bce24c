// Reverse- and forward-path syntax (RFC 5321 §4.1.2), with SMTPUTF8 addresses (RFC 6531 §3.3).
#pragma once

#include <cstddef>
#include <string_view>

namespace mxring::parser {

struct Path {
  std::string_view mailbox;     // "local@domain" as sent, brackets and source route removed
  std::string_view local_part;  // as sent: a quoted local part keeps its quotes
  std::string_view domain;      // domain, or address literal with its brackets; empty for
                                // <postmaster> and the null path
  bool null = false;            // "<>"
  bool utf8 = false;            // non-ASCII octets (valid UTF-8): needs SMTPUTF8
  bool bracketed = true;        // false when the client left out the angle brackets

  bool is_postmaster() const;  // <postmaster> or <postmaster@domain>, any case (§4.5.1)
};

enum class PathKind : unsigned char { reverse, forward };

struct PathParse {
  Path path;
  std::size_t consumed = 0;  // octets of the argument the path used
  bool ok = false;
};

// Parses the path at the start of `text` (the octets after "FROM:" or "TO:" and any spaces).
// Accepted deviations, exactly those Postfix accepts by default: a mailbox without angle
// brackets (it ends at the first space). Source routes are accepted and ignored (§4.1.2,
// Appendix C). Length limits: path 256 octets, domain 255 (§4.5.3.1).
PathParse parse_path(std::string_view text, PathKind kind);

// The same, written into `path` (default-constructed by the caller): the command parser's
// form, which saves building and copying a PathParse. Returns the octets used, 0 when the
// path is malformed (then `path` holds what was parsed so far).
std::size_t parse_path_into(std::string_view text, PathKind kind, Path& path);

// Domain (§4.1.2) or address literal (§4.1.3); U-labels allowed when `allow_utf8`.
bool is_valid_domain(std::string_view domain, bool allow_utf8);
bool is_valid_address_literal(std::string_view literal);

}  // namespace mxring::parser
