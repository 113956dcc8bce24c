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
// committed), else the last published point.
std::optional<CommitPoint> read_commit_point(const std::string& directory);

inline constexpr const char* kCommitFileName = "committed";

}  // namespace mxring::engine
