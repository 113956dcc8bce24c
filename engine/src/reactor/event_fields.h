// The fields of the connection and transaction log lines, shared by the reactor and the
// benchmark that prices them (bench/micro/session_bench.cpp).
#pragma once

#include <cstdint>
#include <string_view>

#include "mxring/engine/log.h"
#include "mxring/engine/session.h"

namespace mxring::engine {

std::string_view close_reason_name(CloseReason reason);

// The proxy or balancer that named the client (empty fields are left out).
void proxy_fields(LogLine& line, const ProxyInfo& proxy);

// Who, where from, how: on every line about a session.
void session_fields(LogLine& line, const Session& session);

// A transaction up to its outcome: written when the message is handed to storage.
void transaction_fields(LogLine& line, const Session& session, const Envelope& envelope,
                        std::size_t size, std::int64_t now_us);

// ... and the outcome, when storage answers.
void transaction_outcome(LogLine& line, StorageResult result, std::int64_t store_us);

}  // namespace mxring::engine
