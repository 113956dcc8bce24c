// Reads a spool directory (<spool>/<writer>/<sequence>.seg) record by record: for
// `mxring spool`, for tests, and as the example a downstream reader can follow.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
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

 private:
  std::string directory_;
};

}  // namespace mxring::engine
