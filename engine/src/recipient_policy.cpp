// Recipient policy: accepted domains, known users per domain, postmaster, relay refusal.
#include "mxring/engine/recipient_policy.h"

#include <algorithm>

#include "policy_lines.h"

namespace mxring::engine {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
  });
  return out;
}

// The local part compared with the users map: quotes removed from a quoted-string (RFC 5321
// §4.1.2 makes "a" and a the same mailbox), lower case (as Postfix compares), and without the
// "+detail" sub-address so user+tag reaches user.
std::string mailbox_key(std::string_view local_part) {
  std::string key;
  if (local_part.size() >= 2 && local_part.front() == '"' && local_part.back() == '"') {
    local_part = local_part.substr(1, local_part.size() - 2);
    for (std::size_t i = 0; i < local_part.size(); ++i) {
      if (local_part[i] == '\\' && i + 1 < local_part.size()) ++i;
      key += local_part[i];
    }
  } else {
    key = local_part;
  }
  return lower(key);
}

// Sender-specified routing in a local part: user%elsewhere, elsewhere!user, or a quoted
// "user@elsewhere". Downstream MTAs read these as "forward to elsewhere" (Postfix's
// allow_percent_hack, swap_bangpath and resolve_dequoted_address are on by default, and
// sendmail does the same), so accepting one for an accepted domain would let a client relay
// through us. Postfix's reject_unauth_destination refuses them for the same reason.
bool routes_elsewhere(const std::string& key) {
  return key.find_first_of("%!@") != std::string::npos;
}

std::string without_detail(const std::string& key) {
  const auto plus = key.find('+');
  return plus == std::string::npos || plus == 0 ? key : key.substr(0, plus);
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::variant<RecipientPolicy, PolicyError> RecipientPolicy::build(
    const std::vector<std::string>& domains, std::string_view users_file) {
  RecipientPolicy policy;
  for (const auto& d : domains) {
    if (d.empty()) return PolicyError{0, "empty accepted domain"};
    policy.domains_.push_back(lower(d));
  }
  PolicyError error;
  const bool read =
      for_each_policy_line(users_file, [&](std::size_t line_number, std::string_view line) {
        if (line.find_first_of(" \t") != std::string_view::npos) {
          error = {line_number, "one entry per line, without spaces"};
          return false;
        }
        UserPattern entry;
        if (const auto at = line.rfind('@'); at != std::string_view::npos) {
          entry.pattern = lower(line.substr(0, at));
          entry.domain = lower(line.substr(at + 1));
          if (!policy.accepts_domain(entry.domain)) {
            error = {line_number, "domain '" + entry.domain + "' is not an accepted domain"};
            return false;
          }
        } else {
          entry.pattern = lower(line);
        }
        if (entry.pattern.empty()) {
          error = {line_number, "empty local part"};
          return false;
        }
        policy.users_.push_back(std::move(entry));
        return true;
      });
  if (!read) return error;
  policy.catch_all_ = policy.users_.empty();
  return policy;
}

bool RecipientPolicy::accepts_domain(std::string_view domain) const {
  return accepts_domain_key(lower(domain));
}

bool RecipientPolicy::accepts_domain_key(const std::string& lower_domain) const {
  return std::find(domains_.begin(), domains_.end(), lower_domain) != domains_.end();
}

RcptVerdict RecipientPolicy::check(std::string_view local_part, std::string_view domain,
                                   bool may_relay) const {
  const auto key = mailbox_key(local_part);
  const auto domain_key = lower(domain);
  const bool ours = !domain.empty() && accepts_domain_key(domain_key);
  // RFC 5321 §4.5.1: <postmaster> without a domain, or at any domain we serve, always works.
  if (key == "postmaster" && (domain.empty() || ours)) return RcptVerdict::accept;
  if (!ours || routes_elsewhere(key))
    return may_relay ? RcptVerdict::accept : RcptVerdict::relay_denied;
  if (catch_all_) return RcptVerdict::accept;
  const auto base = without_detail(key);
  for (const auto& user : users_) {
    if (!user.domain.empty() && user.domain != domain_key) continue;
    if (glob_match(user.pattern, key) || glob_match(user.pattern, base)) return RcptVerdict::accept;
  }
  return RcptVerdict::unknown_user;
}

}  // namespace mxring::engine
