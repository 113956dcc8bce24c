// Retention: deletes segments older than a configured age that every registered cursor has
// read past (SPOOL-FORMAT.md §6). A consumer that lags keeps its segments, and the report
// names it, so no data is lost silently. A writer's last segment is never deleted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mxring::engine {

struct RetentionReport {
  std::vector<std::string> deleted;  // segment paths
  std::vector<std::string> held;     // "segment held by cursor NAME" lines
  std::vector<std::string> errors;   // unreadable cursors (they hold everything)
  std::uint64_t bytes_deleted = 0;
};

// `writer` limits the pass to one writer's directory (mxringd runs it per writer thread).
RetentionReport apply_retention(const std::string& spool_directory, std::int64_t max_age_s,
                                std::optional<unsigned> writer = std::nullopt,
                                bool dry_run = false);

}  // namespace mxring::engine
