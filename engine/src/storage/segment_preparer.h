// Zero-filled segments made ahead for a storage writer using direct I/O (--direct-io).
//
// An O_DIRECT | O_DSYNC write that lands inside the file's size, on blocks already written,
// needs no journal commit: ext4 writes the data and flushes the disk's cache, and several such
// writes run at once. A block only reserved by fallocate is "unwritten", and every write to it
// commits the journal, one commit at a time. Measured here (32 KiB writes, eight at once):
// 7,000 writes/s on zero-filled blocks against 3,500/s on reserved ones
// (bench/micro/RESULTS.md, "Storage"). So each segment is written with zeros and synced before
// the writer uses it, by this thread while the writer fills the segment before it: a
// rotation finds the next one ready.
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
  // Starts preparing `<directory>/.prepared` of `size` octets (a multiple of 4096) at once.
  SegmentPreparer(std::string directory, std::uint64_t size, unsigned writer_index);
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
