// How the log writer's batches reach the log: a regular file that takes direct I/O gets them
// as O_DIRECT appends a megabyte at a time; anything else (a pipe, a terminal, a file system
// without direct I/O) gets plain appends, and a regular file's pages are then written back
// and dropped a step at a time (WrittenPages).
//
// Why direct I/O: a buffered append costs the writer a page-cache page, its buffer heads and
// the copy, then a writeback and a drop later; on a virtual machine the writeback's disk
// requests cost the guest's CPU besides. Measured on the 2-vCPU VM of bench/RESULTS.md, pinned
// (`write` on ext4, the appends a busy log makes):
//   - buffered, written back and dropped a megabyte at a time: 340-505 µs of CPU a megabyte;
//   - O_DIRECT, a megabyte a write: 91-117 µs.
// Under load that was the log thread's 3.7 % of the server's core at 116,000 lines a second.
//
// Every write is an append (O_APPEND), direct or not, so a file cut behind the writer
// (logrotate's copytruncate) never gets a hole: the next write lands at its new end. Every
// write also ends on a line end, so neither a reader nor a copy finds half a line at the
// file's end. O_DIRECT appends whole blocks from block-aligned memory at a block-aligned end
// of file, so the appender holds lines, placed in memory as they will lie in the file, and
// once a megabyte has gathered appends:
//   - the octets up to the file's next block boundary, through the page cache;
//   - the whole blocks after it that end before the last line end, direct;
//   - the octets up to that line end, through the page cache.
// settle() (the writer's queue went quiet, the log stops or moves to another file) writes
// everything held the same way, so readers see every line.
#pragma once

#include <cstdint>
#include <string_view>

#include "aligned_buffer.h"
#include "written_pages.h"

namespace mxring::engine {

// Writes all of `bytes` to `fd`, retrying interrupted and short writes. False on an error
// (the rest is lost: a log has nowhere to complain to).
bool write_all(int fd, std::string_view bytes);

class LogAppender {
 public:
  static constexpr std::size_t kDirectStep = 1u << 20;  // octets a direct write gathers

  // A new destination: `fd` (opened O_APPEND) and, for a regular file, `direct_fd`: the same
  // file opened O_WRONLY | O_APPEND | O_DIRECT, or -1. Lines held for the previous
  // destination are written to it first, so its descriptors must still be open. No
  // descriptor is owned.
  void follow(int fd, int direct_fd);
  // Appends whole lines, written now or held (direct I/O) until a step has gathered.
  void append(std::string_view lines);
  // Writes out every line held.
  void settle();

  bool direct() const { return direct_fd_ >= 0; }
  // Lines held that the file does not have yet (settle() writes them).
  bool holding() const { return held_size_ > 0; }

 private:
  void write_out(bool everything);
  bool take_up_file_end();
  void leave_direct_io(std::size_t written = 0);

  int fd_ = -1;
  int direct_fd_ = -1;
  WrittenPages pages_;
  // Direct I/O: the held octets are held_[held_start_, held_start_ + held_size_), placed so
  // that held_start_ is the file's end modulo the alignment: the octet that will land on a
  // block boundary lies on one in memory.
  AlignedBuffer held_;
  std::size_t held_start_ = 0;
  std::size_t held_size_ = 0;
  std::uint64_t file_end_ = 0;               // where the last write left the file's end
  std::uint64_t dropped_to_ = 0;             // page-cache pages before this offset are gone
  std::uint64_t previous_direct_start_ = 0;  // where the step before the last one began
};

}  // namespace mxring::engine
