// A spool record's header and envelope as JSON (nlohmann-json): the object `mxring spool
// show` prints and the envelope part of every exported JSON line (schema in
// tools/mxring/spool/README.md).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "mxring/engine/spool_format.h"

namespace mxring::tools::spool {

// RFC 3339 UTC with microseconds, e.g. 2026-11-28T09:00:00.123456Z.
std::string iso_time(std::int64_t unix_us);

nlohmann::json envelope_json(const engine::spool::RecordView& record);

}  // namespace mxring::tools::spool
