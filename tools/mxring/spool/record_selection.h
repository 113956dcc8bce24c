// Which records an export or replay takes: a received-time range and/or queue ids; all when
// nothing is given.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "mxring/engine/spool_format.h"

namespace mxring::tools::spool {

struct RecordSelection {
  std::string since_text, until_text;
  std::vector<std::string> ids;
  // Resolved by resolve():
  std::optional<std::int64_t> since_us, until_us;
  std::set<std::string, std::less<>> id_set;

  // Registers --since, --until and --id on `command`.
  void add_options(CLI::App* command);
  // Parses the times; false with a message in `error`.
  bool resolve(std::string& error);
  bool selects(const engine::spool::RecordView& record) const;
};

// Unix seconds ("1764320000", fractions allowed) or RFC 3339 ("2026-11-28T09:00:00Z",
// "2026-11-28T10:00:00+01:00", "2026-11-28" = midnight UTC), as Unix microseconds.
std::optional<std::int64_t> parse_time_us(const std::string& text);

}  // namespace mxring::tools::spool
