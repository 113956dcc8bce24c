// Who may receive mail here, decided at RCPT time: reject before accepting, never bounce later.
// An immutable snapshot; reloading builds a new one and the reactor swaps the pointer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mxring/engine/policy_error.h"
#include "mxring/engine/recipient_check.h"

namespace mxring::engine {

class RecipientPolicy final : public RecipientCheck {
 public:
  // `domains`: accepted recipient domains (any case). `users_file`: the text of --users, one
  // entry a line: `name`, `name@domain`, or a glob (`rcpt-*`, `*` = catch-all) in either form;
  // `#` starts a comment. An empty `users_file` accepts every local part of every accepted
  // domain. Entries naming a domain that is not accepted are an error.
  static std::variant<RecipientPolicy, PolicyError> build(const std::vector<std::string>& domains,
                                                          std::string_view users_file);

  RcptVerdict check(std::string_view local_part, std::string_view domain,
                    bool may_relay) const override;

  bool accepts_domain(std::string_view domain) const;

 private:
  bool accepts_domain_key(const std::string& lower_domain) const;

  struct UserPattern {
    std::string domain;   // lower case; empty = every accepted domain
    std::string pattern;  // lower case; may hold '*' and '?'
  };

  std::vector<std::string> domains_;  // lower case
  std::vector<UserPattern> users_;
  bool catch_all_ = true;  // no users file
};

// Shell-style match of `text` against `pattern` ('*' any run, '?' one octet) in
// O(pattern x text) steps: never exponential, whatever a users file holds.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace mxring::engine
