// A spool record's header and envelope as JSON: the object `mxring spool show` prints and
// the envelope part of every exported JSON line (schema in README.md here). Written straight
// from the record's fields into the output, without building an object: an export spends
// its time on the messages, not on this.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "mxring/engine/spool_format.h"
#include "output_buffer.h"

namespace mxring::tools::spool {

// RFC 3339 UTC with microseconds, e.g. 2026-11-28T09:00:00.123456Z.
std::string iso_time(std::int64_t unix_us);

// Appends the members, comma-separated, without the enclosing braces.
void append_envelope_members(OutputBuffer& out, const engine::spool::RecordView& record);

// The same members as an object (for `show`, which prints it indented).
nlohmann::json envelope_json(const engine::spool::RecordView& record);

}  // namespace mxring::tools::spool
