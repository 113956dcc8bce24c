// A spool segment read through a window: what the writer's recovery, `mxring spool ls`,
// `cat`, `verify` and the spool stream read records with. At most one chunk, or one record
// when a record is larger, is in memory at once, whatever the segment's size: a segment may
// be up to 256 GiB (--segment-size), and one zero-filled ahead has its full size from the
// start. Reading a whole segment into memory made a restart after a crash, or `mxring spool
// ls`, take as much memory as the largest segment (2 GiB for --segment-size 2147483648).
#pragma once

#include <cstdint>
#include <string>

#include "mxring/engine/spool_format.h"

namespace mxring::engine {

class SegmentWindow {
 public:
  // Octets read at once, and held when no record is larger.
  static constexpr std::size_t kChunk = 4u << 20;

  // Reads `fd`, which stays the caller's to close, `chunk` octets at a time (tests and the
  // fuzz target use small ones, to reach every way a record can straddle two reads).
  explicit SegmentWindow(int fd, std::size_t chunk = kChunk) : fd_(fd), chunk_(chunk) {}

  // The file's size now (0 when it cannot be told).
  std::uint64_t file_size() const;

  // Makes [offset, offset + length) readable through at(), reading ahead up to `limit`;
  // false when the file holds fewer octets there.
  bool cover(std::uint64_t offset, std::uint64_t length, std::uint64_t limit);
  const char* at(std::uint64_t offset) const { return window_.data() + (offset - start_); }

  // The first octet of [from, to) that is not zero, read a chunk at a time; `to` when there is
  // none (or the file ends before `to`).
  std::uint64_t first_nonzero(std::uint64_t from, std::uint64_t to);

  // What spool::parse_record says of the record at `offset` (or after padding there) when the
  // segment ends at `limit`, with `start` and `next` offsets in the file and views into the
  // window, valid until the next call. Without `check_crc`, as parse_record_unchecked: the
  // caller checks one record with crc_matches.
  spool::ParseResult parse(std::uint64_t offset, std::uint64_t limit, bool check_crc = true);
  bool crc_matches(const spool::ParseResult& parsed) const;

 private:
  // `parsed` (as parse() returns it) with offsets into the window.
  spool::ParseResult in_window(spool::ParseResult parsed) const;

  int fd_;
  std::size_t chunk_;
  std::string window_;
  std::uint64_t start_ = 0;  // file offset of window_[0]
};

}  // namespace mxring::engine
