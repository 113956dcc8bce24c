// A log file's pages leave the page cache once they are on the disk.
//
// A busy server logs tens of MB a second (a transaction line is ~250 octets). Left alone,
// those pages sit dirty until the kernel's writeback thresholds (gigabytes on a large
// machine), are then written in one burst that stalls whatever shares the disk and the core,
// and stay cached afterwards, pushing out pages that are worth keeping (the spool's, which
// downstream readers follow). Each page is also fresh memory: on a virtual machine that
// hands free memory back to its host (virtio-balloon free page reporting), touching a fresh
// page costs a host fault. Writing the file back a step at a time (a megabyte), and dropping
// the step before, keeps a log's footprint at two steps and lets the kernel reuse the same
// pages. Steps, not the writer's batches: a busy writer hands over a batch every few
// milliseconds, and a writeback and a drop each cost a few system calls and a disk request.
#pragma once

#include <cstdint>

namespace mxring::engine {

// Whether `fd` is a regular file (not a pipe, terminal or device): only those have pages to
// manage, or take direct I/O.
bool regular_file(int fd);

class WrittenPages {
 public:
  static constexpr std::uint64_t kDefaultStep = 1u << 20;
  explicit WrittenPages(std::uint64_t step = kDefaultStep) : step_(step) {}

  // A new file (or pipe, or terminal) behind `fd`: only a regular file's pages are managed.
  void follow(int fd);
  // `length` octets were just appended to the followed file. Once a step's worth is
  // unwritten, starts its writeback, waits for the previous step's, and drops the previous
  // step's pages from the cache. Advice only: a failure changes nothing about what was
  // written.
  void appended(std::uint64_t length);

 private:
  std::uint64_t step_;
  int fd_ = -1;
  std::uint64_t started_to_ = 0;  // writeback has been started up to here
  std::uint64_t dropped_to_ = 0;  // pages before this offset have been dropped
};

}  // namespace mxring::engine
