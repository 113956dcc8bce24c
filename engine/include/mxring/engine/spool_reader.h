// Reads a spool directory (<spool>/<writer>/<sequence>.seg) record by record: for
// `mxring spool`, for tests, and as the example a downstream reader can follow.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mxring/engine/spool_format.h"

namespace mxring::engine {

struct SpoolRecord {
  const std::string& segment;  // path
  std::uint64_t offset;
  const spool::RecordView& view;
};

struct SpoolProblem {
  std::string segment;
  std::uint64_t offset = 0;
  spool::ParseStatus status = spool::ParseStatus::corrupt;
  bool last_segment = false;  // of its writer: a torn tail there is a write in progress
  bool gap = false;           // segments were deleted before this reader read them
};

class SpoolReader {
 public:
  explicit SpoolReader(std::string directory) : directory_(std::move(directory)) {}

  // Every segment, writer by writer, oldest first.
  std::vector<std::string> segments() const;

  // Calls visit for every whole record; returns where reading had to stop early.
  std::vector<SpoolProblem> scan(const std::function<void(const SpoolRecord&)>& visit) const;

  // Calls visit for the record whose queue id is `id` and returns true; false when no segment
  // holds it whole with a good CRC. Newest segments first (the message looked for is usually
  // recent), and only that record's CRC is checked: the others' headers lead from one to the
  // next. Adds to `problems` a mismatched CRC of that record, and damage that stopped the
  // search in a segment (where the record may have been).
  bool find(std::string_view id, const std::function<void(const SpoolRecord&)>& visit,
            std::vector<SpoolProblem>& problems) const;

 private:
  std::string directory_;
};

}  // namespace mxring::engine
