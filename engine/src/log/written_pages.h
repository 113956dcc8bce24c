// A log file's pages leave the page cache once they are on the disk.
//
// A busy server logs tens of MB a second (a transaction line is ~250 octets). Left alone,
// those pages sit dirty until the kernel's writeback thresholds (gigabytes on a large
// machine), are then written in one burst that stalls whatever shares the disk and the core,
// and stay cached afterwards, pushing out pages that are worth keeping (the spool's, which
// downstream readers follow). Each page is also fresh memory: on a virtual machine that
// hands free memory back to its host (virtio-balloon free page reporting), touching a fresh
// page costs a host fault. Writing each batch back at once and dropping the batch before it
// keeps a log's footprint at two batches and lets the kernel reuse the same pages.
#pragma once

#include <cstdint>

namespace mxring::engine {

class WrittenPages {
 public:
  // A new file (or pipe, or terminal) behind `fd`: only a regular file's pages are managed.
  void follow(int fd);
  // `length` octets were just appended to the followed file: starts their writeback, waits
  // for the previous batch's, and drops the previous batch's pages from the cache. Advice
  // only: a failure changes nothing about what was written.
  void appended(std::uint64_t length);

 private:
  int fd_ = -1;
  std::uint64_t previous_end_ = 0;  // end of the batch before this one
  std::uint64_t dropped_to_ = 0;    // pages before this offset have been dropped
};

}  // namespace mxring::engine
