// Follows a spool as its writers commit to it: the reading side of `mxring spool tail`,
// `export` and the Kafka forwarder. A cursor says, per writer, where the next record starts;
// a consumer that saves the cursor after handling records and starts again from it sees
// every record at least once, in each writer's order, across segment rotation and restarts
// of either side. Only committed records are handed on (SPOOL-FORMAT.md §5).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mxring/engine/spool_format.h"
#include "mxring/engine/spool_reader.h"

namespace mxring::engine {

struct SpoolPosition {
  std::uint64_t sequence = 0;  // segment; 0 = the writer's first segment
  std::uint64_t offset = 0;    // of the next record in it

  auto operator<=>(const SpoolPosition&) const = default;
};

// Writer number → position. A writer absent from the cursor is read from its beginning.
using SpoolCursor = std::map<unsigned, SpoolPosition>;

struct StreamedRecord {
  unsigned writer;
  SpoolPosition at;    // where the record starts
  SpoolPosition next;  // the cursor position once it is handled
  const spool::RecordView& view;
};

class SpoolStream {
 public:
  SpoolStream(std::string directory, SpoolCursor cursor);
  ~SpoolStream();
  SpoolStream(const SpoolStream&) = delete;
  SpoolStream& operator=(const SpoolStream&) = delete;

  // Hands every committed record past the cursor to `visit`, writer by writer, and moves the
  // cursor past each record `visit` accepts (returns true); stops at the first it refuses.
  // Returns the number accepted. Nothing new (yet) returns 0: call again to follow.
  std::size_t poll(const std::function<bool(const StreamedRecord&)>& visit);

  const SpoolCursor& cursor() const { return cursor_; }

  // Corruption that stopped a writer's stream, and gaps (segments deleted before they were
  // read), since the last call.
  std::vector<SpoolProblem> take_problems();

 private:
  struct Segment;
  bool read_writer(unsigned writer, const std::function<bool(const StreamedRecord&)>& visit,
                   std::size_t& accepted);

  std::string directory_;
  SpoolCursor cursor_;
  std::map<unsigned, std::unique_ptr<Segment>> open_;
  std::map<unsigned, bool> stopped_;  // by corruption
  std::vector<SpoolProblem> problems_;
};

// The segment sequences of one writer directory, ascending.
std::vector<std::uint64_t> segment_sequences(const std::string& writer_directory);
std::string segment_path(const std::string& writer_directory, std::uint64_t sequence);

// Writer numbers with a directory in the spool, ascending.
std::vector<unsigned> spool_writers(const std::string& directory);

}  // namespace mxring::engine
