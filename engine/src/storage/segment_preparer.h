// Zero-filled segments made ahead for a storage writer, so its writes land on blocks already
// written, inside the file's size: overwrites, which need no metadata on the disk.
//
// With direct I/O (--direct-io): an O_DIRECT | O_DSYNC write that lands inside the file's
// size, on blocks already written, needs no journal commit: ext4 writes the data and flushes
// the disk's cache, and several such writes run at once. A block only reserved by fallocate is
// "unwritten", and every write to it commits the journal, one commit at a time. Measured here
// (32 KiB writes, eight at once): 7,000 writes/s on zero-filled blocks against 3,500/s on
// reserved ones (bench/micro/RESULTS.md, "Storage").
//
// Through the page cache (the default): an append that grows the file, or fills a reserved
// block, makes fdatasync write the inode (or commit the journal) after the data, a second
// device round trip per group commit; an overwrite makes it write the data alone. PostgreSQL
// zero-fills its WAL segments for the same reason (wal_init_zero). The zeros are written
// through the page cache and stay there, so the writer's partial-page writes find their pages
// cached instead of reading them from the disk first.
//
// Each segment is written with zeros and synced before the writer uses it, by this thread
// while the writer fills the segment before it: a rotation finds the next one ready.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace mxring::engine {

class SegmentPreparer {
 public:
  // Starts preparing `<directory>/.prepared` of `size` octets (a multiple of 4096) at once,
  // written with O_DIRECT if `direct`, else through the page cache.
  SegmentPreparer(std::string directory, std::uint64_t size, unsigned writer_index, bool direct);
  SegmentPreparer(const SegmentPreparer&) = delete;
  SegmentPreparer& operator=(const SegmentPreparer&) = delete;
  ~SegmentPreparer();  // stops the thread and removes a prepared file nobody took

  // Renames the prepared file to `path` (waiting while it is being written), makes the new
  // name durable, and starts preparing the next. Returns 0, or the errno that kept the file
  // from being prepared (ENOSPC, EINVAL where the file system has no direct I/O); the next
  // call tries again.
  int take(const std::string& path);

 private:
  void run();
  int prepare() const;  // 0 or errno

  const std::string directory_, path_;
  const std::uint64_t size_;
  const bool direct_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool wanted_ = true;  // the thread is to prepare a file
  bool ready_ = false;  // it finished (error_ says how)
  int error_ = 0;
  bool stopping_ = false;
  std::atomic<bool> abandon_{false};  // the destructor runs: stop writing zeros
  std::thread thread_;
};

}  // namespace mxring::engine
