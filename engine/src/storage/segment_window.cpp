// SegmentWindow: preads of at most a chunk (or one record) into one buffer, kept from one read
// to the next.
#include "segment_window.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

namespace mxring::engine {
namespace {

// Where the first octet that is not zero lies in `octets`. Compared against a block of zeros
// by memcmp first, which runs many times faster than an octet at a time over gigabytes of
// zeros (a segment zero-filled ahead, read to its end).
std::optional<std::size_t> first_nonzero_in(std::string_view octets) {
  static constexpr char kZeros[64 << 10] = {};
  for (std::size_t done = 0; done < octets.size();) {
    const auto piece = octets.substr(done, sizeof kZeros);
    if (std::memcmp(piece.data(), kZeros, piece.size()) != 0)
      return done + piece.find_first_not_of('\0');
    done += piece.size();
  }
  return std::nullopt;
}

}  // namespace

std::uint64_t SegmentWindow::file_size() const {
  struct stat info {};
  return fstat(fd_, &info) == 0 && info.st_size > 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
}

bool SegmentWindow::cover(std::uint64_t offset, std::uint64_t length, std::uint64_t limit) {
  if (offset >= start_ && offset + length <= start_ + window_.size()) return true;
  const auto ahead = limit > offset ? std::min<std::uint64_t>(chunk_, limit - offset) : 0;
  const auto want = std::max(length, ahead);
  window_.resize(want);
  std::size_t got = 0;
  while (got < want) {
    const auto n = pread(fd_, window_.data() + got, want - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // shorter than it was a moment ago: what was read is what there is
    got += static_cast<std::size_t>(n);
  }
  window_.resize(got);
  start_ = offset;
  return got >= length;
}

std::uint64_t SegmentWindow::first_nonzero(std::uint64_t from, std::uint64_t to) {
  while (from < to) {
    if (!cover(from, 1, to)) return to;
    const auto end = std::min<std::uint64_t>(start_ + window_.size(), to);
    if (const auto found = first_nonzero_in(std::string_view(at(from), end - from)))
      return from + *found;
    from = end;
  }
  return to;
}

spool::ParseResult SegmentWindow::parse(std::uint64_t offset, std::uint64_t limit, bool check_crc) {
  spool::ParseResult result;
  // Padding runs to the next batch boundary, or from a boundary to the end of the segment
  // (spool::parse_record's rule), and is read a chunk at a time: a segment zero-filled ahead
  // may be gigabytes of it.
  while (offset < limit && cover(offset, 1, limit) && *at(offset) == '\0') {
    const auto resume = spool::after_padding(offset, limit);
    if (first_nonzero(offset, resume) < resume) {
      result.status = offset % spool::kBatchAlignment == 0 ? spool::ParseStatus::truncated
                                                           : spool::ParseStatus::corrupt;
      return result;
    }
    offset = resume;
  }
  if (offset >= limit) {
    result.start = offset;
    return result;  // end
  }
  // The header, then as much of the record as its lengths say (lengths no record can have are
  // left to parse_record, which finds them corrupt).
  const auto available = limit - offset;
  auto want = std::min<std::uint64_t>(spool::kHeaderSize, available);
  if (want == spool::kHeaderSize && cover(offset, want, limit)) {
    if (const auto length = spool::record_length_in({at(offset), spool::kHeaderSize}))
      want = std::min(*length, available);
  }
  cover(offset, want, limit);
  const std::string_view view(window_.data(),
                              std::min<std::uint64_t>(window_.size(), limit - start_));
  const auto relative = static_cast<std::size_t>(offset - start_);
  result = check_crc ? spool::parse_record(view, relative)
                     : spool::parse_record_unchecked(view, relative);
  result.start += start_;
  if (result.status == spool::ParseStatus::ok) result.next += start_;
  return result;
}

bool SegmentWindow::crc_matches(const spool::ParseResult& parsed) const {
  return spool::record_crc_matches(std::string_view(window_), in_window(parsed));
}

spool::ParseResult SegmentWindow::in_window(spool::ParseResult parsed) const {
  parsed.start -= start_;
  parsed.next -= start_;
  return parsed;
}

}  // namespace mxring::engine
