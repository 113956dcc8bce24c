// Where a storage writer's committed records end, published for spool readers
// (SPOOL-FORMAT.md §5). A record is in the segment file as soon as its pwritev returns, but
// it is committed (and answered 250) only after the batch's fdatasync; a reader that followed
// the file alone could hand on a record the client never saw acknowledged and that a crash
// may still lose. The writer stores (segment sequence, end offset) after every batch into a
// small file it keeps mapped, so publishing costs one memory store and no system call. While
// it runs it holds an exclusive flock on that file: a reader that can take a shared lock
// knows no writer is running, and then every whole record in the segments is committed
// (recovery keeps exactly those).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mxring::engine {

struct CommitPoint {
  std::uint64_t sequence = 0;  // segment
  std::uint64_t offset = 0;    // end of the last committed record in it
};

// The writer's side. Not copyable; unmaps and unlocks on destruction.
class CommitMarker {
 public:
  CommitMarker() = default;
  CommitMarker(const CommitMarker&) = delete;
  CommitMarker& operator=(const CommitMarker&) = delete;
  ~CommitMarker();

  // Creates or opens <directory>/committed and locks it. Returns an error message, or empty
  // (e.g. when another mxringd already writes to this directory).
  std::string open(const std::string& directory);
  void publish(CommitPoint point);
  // What the file held when opened: where the previous run's committed records end ({0, 0}
  // for a new file). Never beyond what was durable then, so recovery cuts nothing before it.
  CommitPoint found_at_open() const { return found_at_open_; }

 private:
  int fd_ = -1;
  void* map_ = nullptr;
  CommitPoint found_at_open_;
};

// The reader's side: nullopt when no writer holds the directory (everything whole is then
// committed), else the last published point, its sequence as the marker keeps it (see
// full_sequence).
std::optional<CommitPoint> read_commit_point(const std::string& directory);

// The marker keeps the low 24 bits of a segment's sequence, beside a 40-bit offset, in one
// word it stores atomically. The segment it names is always among the writer's newest, so
// its sequence is the largest with those low bits that is at most one past `newest` (the
// highest sequence listed after the marker was read). Without this a writer that had
// rotated 2^24 times (129 days of 64 MiB segments at 100 MB/s; hours with small ones)
// stalled every reader.
std::uint64_t full_sequence(std::uint64_t marked, std::uint64_t newest);

inline constexpr const char* kCommitFileName = "committed";

}  // namespace mxring::engine
