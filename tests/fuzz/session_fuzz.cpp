// Fuzz target: a whole session fed random client bytes cut at random points, with a host
// that answers storage, AUTH and STARTTLS at once (and, with kTightStorage, has little content
// memory and a store whose room comes and goes). Checks that every reply is a well-formed
// SMTP reply, nothing is said after the session closed, memory stays bounded, and every
// octet charged to the content budget is given back. The client may send XCLIENT, and the
// client access table refuses 203.0.113.0/24 and 2001:db8::/32, so an XCLIENT naming one of
// those leads into a refused client's session (554, then only QUIT).
//
// Input: byte 0 picks the configuration (bits below), byte 1 seeds the cuts and the storage
// answers, the rest is what the client sends.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "guarded_buffer.h"
#include "mxring/engine/address_range.h"
#include "mxring/engine/client_access.h"
#include "mxring/engine/content_budget.h"
#include "mxring/engine/session.h"
#include "mxring/parser/padding.h"
#include "reply_syntax.h"
#include "session_transcript.h"

using namespace mxring;

namespace {

enum ConfigBit : std::uint8_t {
  kStarttls = 1,
  kAuth = 2,
  kSubmission = 4,
  kSmtps = 8,
  kSmallLimits = 16,
  kStrict = 32,  // refuse long lines, and input behind a command that ends a pipelined group
  kTalkBeforeGreeting = 64,
  kTightStorage = 128,
};

engine::SessionConfig config_for(std::uint8_t bits) {
  engine::SessionConfig config;
  config.host_name = "mx.example";
  config.starttls_available = bits & kStarttls;
  config.auth_available = bits & kAuth;
  config.role = bits & kSmtps        ? engine::ListenerRole::smtps
                : bits & kSubmission ? engine::ListenerRole::submission
                                     : engine::ListenerRole::smtp;
  config.limits.reject_long_lines = bits & kStrict;
  config.limits.forbid_improper_pipelining = bits & kStrict;
  static const auto access = std::make_shared<const engine::ClientAccess>(
      std::get<engine::ClientAccess>(engine::ClientAccess::build(
          "203.0.113.0/24 reject Refused by the fuzz table\n2001:db8::/32 reject\n")));
  config.client_access = access;
  if (bits & kSmallLimits) {
    config.limits.max_message_size = 300;
    config.limits.max_recipients = 3;
    config.limits.max_messages = 2;
    config.limits.max_errors = 5;
    config.limits.max_data_line = 40;
    config.limits.max_received_headers = 2;
  }
  return config;
}

void check_replies(std::string_view out) {
  if (!testing::well_formed_replies(out)) std::abort();  // a multi-line reply ends in its batch
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto bits = data[0];
  std::uint32_t seed = data[1] * 2654435761u + 1;
  const std::string_view client(reinterpret_cast<const char*>(data) + 2, size - 2);
  const auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
  };

  auto context = engine::SessionContext::make(config_for(bits));
  const auto max_size = context->limits().max_message_size;
  test::TestServices services;
  engine::ContentBudget budget(96 << 10);  // outlives the session, which gives back to it
  if (bits & kTightStorage) services.budget = &budget;
  engine::ConnectionInfo connection;
  connection.client_address = "192.0.2.1";
  connection.client_octets = engine::parse_address(connection.client_address)->octets;
  connection.xclient_trusted = true;
  connection.role = context->config().role;
  auto owned = std::make_unique<engine::Session>(context, services, connection);
  auto& session = *owned;
  static test::GuardedBuffer memory(1 << 20);
  const engine::TlsInfo tls{"TLSv1.3", "TLS_AES_128_GCM_SHA256", ""};

  bool was_closed = false;
  const auto settle = [&] {
    for (bool progressed = true; progressed;) {
      progressed = false;
      const auto out = session.output();
      if (!out.empty()) {
        if (was_closed) std::abort();  // nothing may follow the closing reply
        check_replies(out);
        session.consume_output(out.size());
        progressed = true;
      }
      was_closed = session.closed();
      switch (session.wait()) {
        case engine::Session::Wait::storage:
          if (session.has_message()) {
            const auto message = session.take_message();
            if (message.content.size() > max_size + 4096) std::abort();
          }
          session.storage_done(static_cast<engine::StorageResult>(next() % 3));
          progressed = true;
          break;
        case engine::Session::Wait::auth:
          session.auth_done(test::check_test_credentials(session.auth_request()));
          progressed = true;
          break;
        case engine::Session::Wait::tls_handshake:
          session.tls_established(tls);
          progressed = true;
          break;
        default:
          break;
      }
      // Bounded by the body limit, one scan slice, the line cap and the output high water.
      if (session.footprint() > max_size + (1u << 20)) std::abort();
    }
  };

  if (context->config().role == engine::ListenerRole::smtps) session.tls_established(tls);
  if (!(bits & kTalkBeforeGreeting)) session.greet();
  settle();
  std::size_t at = 0;
  while (at < client.size() && !session.closed()) {
    const auto piece = client.substr(at, 1 + next() % 300);
    // Room above the store's floor: none at times, else up to ~128 KiB (MAIL's SIZE).
    if (bits & kTightStorage)
      services.storage_room = static_cast<std::int64_t>(next() % 131072) - 8192;
    session.receive(memory.place(piece, parser::kPadding));
    if (!(bits & kTalkBeforeGreeting) || at > 0) settle();
    at += piece.size();
    if (bits & kTalkBeforeGreeting) session.greet();
  }
  settle();
  owned.reset();
  if (budget.held() != 0) std::abort();  // a charge outlived its content
  return 0;
}
