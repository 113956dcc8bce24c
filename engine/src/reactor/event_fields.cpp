#include "event_fields.h"

#include <algorithm>
#include <array>
#include <string>

namespace mxring::engine {

std::string_view close_reason_name(CloseReason reason) {
  switch (reason) {
    case CloseReason::none:
      return "client_closed";
    case CloseReason::quit:
      return "quit";
    case CloseReason::early_talker:
      return "early_talker";
    case CloseReason::too_many_errors:
      return "too_many_errors";
    case CloseReason::timeout:
      return "timeout";
    case CloseReason::shutdown:
      return "shutdown";
    case CloseReason::rate_limited:
      return "rate_limited";
    case CloseReason::improper_pipelining:
      return "improper_pipelining";
  }
  return "client_closed";
}

// Who named the client, and what the balancer's PROXY v2 TLVs said about it.
void proxy_fields(LogLine& line, const ProxyInfo& proxy) {
  line.text("proxy"_key, proxy.peer)
      .text("proxy_via"_key, proxy.via)
      .text("client_name"_key, proxy.client_name)
      .text("proxy_authority"_key, proxy.authority)
      .text("proxy_tls"_key, proxy.tls_version)
      .text("proxy_cipher"_key, proxy.tls_cipher);
}

// The fields every line about a session carries: who, where from, how. (The listener, and
// so the durability its 250 promised, is on the connection's line.)
void session_fields(LogLine& line, const Session& session) {
  const auto& connection = session.connection();
  line.text("client"_key, connection.client_address)
      .number("client_port"_key, connection.client_port);
  if (connection.proxy) proxy_fields(line, *connection.proxy);
  line.text("helo"_key, session.helo());
  if (const auto* tls = session.tls())
    line.text("tls"_key, tls->version).text("cipher"_key, tls->cipher).text("sni"_key, tls->sni);
  line.text("auth"_key, session.auth_identity());
}

void transaction_fields(LogLine& line, const Session& session, const Envelope& envelope,
                        std::size_t size, std::int64_t now_us) {
  // The client's port and listener are on its connection's line.
  line.text("queue_id"_key, envelope.queue_id.view())
      .text("client"_key, session.connection().client_address);
  if (const auto& proxy = session.connection().proxy) proxy_fields(line, *proxy);
  line.text("helo"_key, session.helo());
  if (const auto* tls = session.tls())
    line.text("tls"_key, tls->version).text("cipher"_key, tls->cipher);
  line.text("auth"_key, session.auth_identity());
  line.text("from"_key, envelope.mail_from, /*omit_empty=*/false)
      .number("rcpts"_key, envelope.recipients.size())
      .number("size"_key, size)
      .number("data_us"_key, static_cast<std::uint64_t>(
                                 std::max<std::int64_t>(0, now_us - envelope.received_at_us)));
}

void transaction_outcome(LogLine& line, StorageResult result, std::int64_t store_us) {
  const bool stored = result == StorageResult::stored;
  if (stored) {
    // Nearly every line's outcome: its fields written once per format, then copied.
    static const std::array<std::string, 2> kStored = [] {
      std::array<std::string, 2> written;
      for (const auto format : {LogFormat::text, LogFormat::json})
        LogLine::fragment(written[static_cast<std::size_t>(format)], format)
            .number("code"_key, 250)
            .text("result"_key, "stored");
      return written;
    }();
    line.fields(kStored[static_cast<std::size_t>(line.format())]);
  } else {
    line.number("code"_key, result == StorageResult::disk_full   ? 452
                            : result == StorageResult::too_large ? 552
                                                                 : 451)
        .text("result"_key, "storage_failed");
  }
  line.number("store_us"_key, static_cast<std::uint64_t>(store_us));
}

}  // namespace mxring::engine
