// The client access table: parsed once per (re)load into one hash map per prefix length.
#include "mxring/engine/client_access.h"

#include <strings.h>

#include <algorithm>

#include "mxring/engine/address_range.h"
#include "policy_lines.h"

namespace mxring::engine {
namespace {

constexpr std::string_view kDefaultText = "Access denied";
// A reply line stays within RFC 5321 §4.5.3.1.5's 512 octets.
constexpr std::size_t kMaxText = 400;

bool action_is(std::string_view word, std::string_view action) {
  return word.size() == action.size() && strncasecmp(word.data(), action.data(), word.size()) == 0;
}

bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto octet = static_cast<unsigned char>(c);
    return octet >= 0x20 && octet <= 0x7e;
  });
}

}  // namespace

std::variant<ClientAccess, PolicyError> ClientAccess::build(std::string_view table) {
  ClientAccess access;
  std::vector<std::size_t> first_line;  // of each rule, for "given twice"
  PolicyError error;
  const bool read =
      for_each_policy_line(table, [&](std::size_t line_number, std::string_view line) {
        const auto fail = [&](std::string message) {
          error = {line_number, std::move(message)};
          return false;
        };
        const auto range_end = line.find_first_of(" \t");
        if (range_end == std::string_view::npos)
          return fail("expected a range and permit or reject");
        const auto range_text = line.substr(0, range_end);
        auto rest = trim_blanks(line.substr(range_end));
        const auto action = rest.substr(0, rest.find_first_of(" \t"));
        const auto text = trim_blanks(rest.substr(action.size()));
        const auto range = AddressRange::parse(range_text);
        if (!range)
          return fail("'" + std::string(range_text) + "' is not an address or CIDR range");
        Rule rule;
        if (action_is(action, "permit") || action_is(action, "ok")) {
          if (!text.empty()) return fail("permit takes no text");
        } else if (action_is(action, "reject")) {
          if (!printable(text) || text.size() > kMaxText)
            return fail("the text must be printable ASCII, at most " + std::to_string(kMaxText) +
                        " octets");
          rule.permit = false;
          rule.reply = "554 5.7.1 " + std::string(text.empty() ? kDefaultText : text) + "\r\n";
        } else {
          return fail("'" + std::string(action) + "': the action is permit or reject");
        }
        const auto network = masked(range->octets(), range->prefix());
        if (network != range->octets())
          return fail("'" + std::string(range_text) + "' has bits set past its prefix");
        auto length =
            std::find_if(access.lengths_.begin(), access.lengths_.end(),
                         [&](const PrefixLength& l) { return l.bits == range->prefix(); });
        if (length == access.lengths_.end()) {
          access.lengths_.push_back({range->prefix(), {}});
          length = access.lengths_.end() - 1;
        }
        const auto [at, added] = length->rules.emplace(network, access.rules_.size());
        if (!added)
          return fail("'" + std::string(range_text) + "' is given twice (first on line " +
                      std::to_string(first_line[at->second]) + ")");
        access.rules_.push_back(std::move(rule));
        first_line.push_back(line_number);
        return true;
      });
  if (!read) return error;
  return access;
}

const std::string* ClientAccess::refusal(const MappedOctets& client) const {
  std::size_t first = rules_.size();
  for (const auto& length : lengths_) {
    const auto found = length.rules.find(masked(client, length.bits));
    if (found != length.rules.end()) first = std::min(first, found->second);
  }
  if (first == rules_.size() || rules_[first].permit) return nullptr;
  return &rules_[first].reply;
}

}  // namespace mxring::engine
