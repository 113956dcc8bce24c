// The session's per-transaction and per-AUTH state, private to the session's sources.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mxring/engine/session.h"
#include "mxring/parser/content_checker.h"

namespace mxring::engine {

// What one recipient takes in memory: itself, its strings beyond what they keep in place,
// and its hash for the repeat check. An estimate (the allocator's own overhead is not
// counted), close enough to bound what recipients hold.
inline std::size_t recipient_bytes(const Recipient& recipient) {
  const auto heap = [](const std::string& s) {
    return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;
  };
  return sizeof(Recipient) + sizeof(std::size_t) + heap(recipient.address) + heap(recipient.orcpt);
}

struct Session::Transaction {
  Envelope envelope;
  ByteBuffer content;             // Received: header, then the body
  std::size_t header_length = 0;  // octets of content that are the trace header
  // What `content` should come to by MAIL's SIZE (0: not declared); ByteBuffer::prepare.
  std::size_t expected_size = 0;
  // The most content holds before it is dropped as too big: the trace header, the limit
  // and one data slice read before the check (set when the content starts).
  std::size_t content_ceiling = SIZE_MAX;
  bool content_started = false;  // DATA accepted or a first BDAT chunk taken
  bool overflowed = false;       // content drained, not kept: past max_message_size ...
  bool out_of_room = false;      // ... or the server's ContentBudget had no room for it
  ContentCharge charge;          // what `content` and the recipients hold of that budget
  // Octets the recipients take (recipient_bytes each), charged with the content: 50,000
  // connections of 1,000 long recipients would otherwise hold tens of GiB beside it.
  std::size_t envelope_bytes = 0;
  parser::ContentChecker bdat_content;  // what BDAT chunks brought so far, checked as text
  // Beyond kFewRecipients, a hash of each recipient's address but the last, in order.
  std::vector<std::size_t> recipient_hashes;
  static constexpr std::size_t kFewRecipients = 8;

  std::uint64_t body_size() const { return content.size() - header_length; }
  // Octets content may still take without growing past expected_size (0: no such bound).
  std::size_t room_before_expected() const {
    return expected_size > content.size() ? expected_size - content.size() : 0;
  }
  // What content's buffer may grow to for `more` octets: the size MAIL declared while the
  // content keeps within it, else what content can reach before it is dropped as too big.
  // Doubling past that would charge a message of --max-message-size up to twice its size,
  // more than content_memory_needed() promises it.
  std::size_t growth_bound(std::size_t more) const {
    return expected_size != 0 && content.size() + more <= expected_size ? expected_size
                                                                        : content_ceiling;
  }

  // Whether the recipient just added repeats an earlier one. A few are compared directly;
  // past them through hashes, so a flood of 1,000 recipients costs a scan of integers, not of
  // strings, for each.
  bool repeats_last_recipient() {
    const auto& all = envelope.recipients;
    const auto& last = all.back();
    const auto same = [&](const Recipient& r) {
      return r.address == last.address && r.notify == last.notify && r.orcpt == last.orcpt;
    };
    if (all.size() <= kFewRecipients) return std::any_of(all.begin(), all.end() - 1, same);
    const auto hash = [](const Recipient& r) { return std::hash<std::string_view>{}(r.address); };
    while (recipient_hashes.size() < all.size() - 1)
      recipient_hashes.push_back(hash(all[recipient_hashes.size()]));
    const auto wanted = hash(last);
    for (std::size_t i = 0; i < recipient_hashes.size(); ++i)
      if (recipient_hashes[i] == wanted && same(all[i])) return true;
    return false;
  }
  void drop_last_recipient() {
    envelope.recipients.pop_back();
    recipient_hashes.resize(std::min(recipient_hashes.size(), envelope.recipients.size()));
  }
};

// A SASL exchange in progress: which mechanism, and what LOGIN has collected so far.
struct Session::SaslExchange {
  bool login = false;
  bool have_user = false;
  std::string user;
};

}  // namespace mxring::engine
