// How the log writer's batches reach the log: a regular file that takes direct I/O gets them
// as O_DIRECT writes a megabyte at a time; anything else (a pipe, a terminal, a file system
// without direct I/O) gets plain appends, and a regular file's pages are then written back
// and dropped a step at a time (WrittenPages).
//
// Why direct I/O: a buffered append costs the writer a page-cache page, its buffer heads and
// the copy, then a writeback and a drop later; on a virtual machine the writeback's disk
// requests cost the guest's CPU besides. Measured on the 2-vCPU VM of bench/RESULTS.md, pinned
// (`write` or `pwrite` on ext4, the appends a busy log makes):
//   - buffered, written back and dropped a megabyte at a time: 340-505 µs of CPU a megabyte;
//   - O_DIRECT, a megabyte a write: 91-117 µs.
// Under load that was the log thread's 3.7 % of the server's core at 116,000 lines a second.
//
// O_DIRECT writes whole blocks at block offsets, so the appender holds the lines past the
// last whole block (and a re-read copy of the file's partial last block) and writes them:
//   - as direct writes, once a megabyte has gathered;
//   - on settle() (the writer's queue went quiet, the log stops or moves to another file):
//     the whole blocks direct, the partial block appended through the page cache, so nothing
//     waits to be read that a reader could see.
// Before each write it checks that the file ends where its last write left it. When it does
// not (logrotate's copytruncate, another process appending), it starts again from the file's
// new end, re-reading its partial block. Two writers racing on one file may overwrite each
// other's last block; mxringd's log file is its own.
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
  // file opened O_RDWR | O_DIRECT, or -1. Lines held for the previous destination are written
  // to it first, so its descriptors must still be open. No descriptor is owned.
  void follow(int fd, int direct_fd);
  // Appends whole lines, written now or held (direct I/O) until a step has gathered.
  void append(std::string_view lines);
  // Writes out every line held.
  void settle();

  bool direct() const { return direct_fd_ >= 0; }
  // Lines held that the file does not have yet (settle() writes them).
  bool holding() const { return held_size_ > held_written_; }

 private:
  void forget_written();
  bool in_place() const;
  void start_at_file_end();
  bool write_whole_blocks();
  void leave_direct_io();

  int fd_ = -1;
  int direct_fd_ = -1;
  WrittenPages pages_;
  // Direct I/O: held_ starts at the file offset block_start_ (a multiple of the alignment).
  // Its first held_written_ octets are already in the file (a partial last block); the rest
  // are lines not yet written.
  AlignedBuffer held_;
  std::size_t held_size_ = 0;
  std::size_t held_written_ = 0;
  std::uint64_t block_start_ = 0;
};

}  // namespace mxring::engine
