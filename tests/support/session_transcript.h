// Session transcripts: `C:`/`S:` files under tests/transcripts/ (format in its README), parsed
// and replayed through a real Session with the client bytes cut in any way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mxring/engine/session.h"

namespace mxring::test {

struct ExpectedMessage {
  std::string envelope;  // describe_envelope() of the stored message
  std::string content;   // exact stored octets; checked only when the transcript gives M: lines
  bool check_content = false;
};

struct Transcript {
  std::string name;
  // A transcript's client bytes are fed whole, a byte at a time and cut everywhere, and must
  // be answered alike, so it cannot show when they were sent: the rule against input behind
  // a command that ends a pipelined group (RFC 2920 §3.1) is off here and has tests of its
  // own (session_test.cpp).
  engine::SessionConfig config = [] {
    engine::SessionConfig c;
    c.limits.forbid_improper_pipelining = false;
    return c;
  }();
  std::vector<std::string> domains;  // `! domain`; with `! user`, builds a RecipientPolicy
  std::string users_file;
  std::string client_access;     // `! client_access RULE` lines: a ClientAccess table
  bool xclient_trusted = false;  // `! xclient_trusted`: the client may send XCLIENT
  bool implicit_tls = false;     // smtps: the handshake precedes the greeting
  // Client bytes, cut at the markers: before `@greet` (early talker), and at each `@tls`.
  std::vector<std::string> segments;
  std::size_t greet_before_segment = 0;  // greet() is called before this segment
  std::vector<std::size_t> tls_before_segment;
  std::string expected_replies;
  std::vector<ExpectedMessage> messages;
  std::vector<engine::StorageResult> storage_results;  // per message, in order
  bool expect_closed = false;                          // `! closed`: the session ends closed
};

// Throws std::runtime_error naming the line on a malformed transcript.
Transcript parse_transcript(std::string_view text, std::string name);
Transcript load_transcript(const std::string& path);

// One stable line per envelope, e.g. "from=<a@b> to=<c@d> body=8BITMIME ...".
std::string describe_envelope(const engine::Envelope& envelope);

struct TranscriptRun {
  std::string replies;
  std::vector<engine::Message> messages;
  bool closed = false;
  std::size_t peak_footprint = 0;
};

// `cuts`: offsets into the concatenated client bytes where a receive() ends (sorted).
// Segments always end a receive. Every piece reaches the session in guarded memory.
TranscriptRun run_transcript(const Transcript& transcript, const std::vector<std::size_t>& cuts);

// The deterministic host the runner uses: queue ids Q1, Q2, ...; the clock at
// 2026-11-28 00:00:00 UTC.
class TestServices final : public engine::SessionServices {
 public:
  engine::QueueId next_queue_id() override;
  std::int64_t now_us() override { return 1795824000ll * 1'000'000; }
  engine::ContentBudget* content_budget() override { return budget; }
  bool storage_has_room(const engine::Session&, std::uint64_t octets) override {
    return storage_room >= 0 && octets <= static_cast<std::uint64_t>(storage_room);
  }

  engine::ContentBudget* budget = nullptr;  // null: content without bound
  // Octets the store may still take above its floor; negative: below it.
  std::int64_t storage_room = INT64_MAX;

 private:
  std::uint32_t next_ = 1;
};

// The credentials the runner's host accepts: alice / wonderland. User "tempfail" gets a
// temporary failure; anything else is invalid.
engine::AuthResult check_test_credentials(const engine::AuthRequest& request);

std::shared_ptr<const engine::SessionContext> make_context(const Transcript& transcript);

}  // namespace mxring::test
