// Spool segments as a reader finds them after a crash or on a damaged disk: recovery at start,
// `mxring spool` and the stream readers walk records with parse_record (or, looking for one
// record, parse_record_unchecked and record_crc_matches) and decode envelopes
// with decode_envelope. Whatever the octets, the walk ends, every record it accepts lies inside
// the segment, and decoding reads nothing outside its record. Each input is walked twice: as
// it is, and with the first record's CRC sealed over whatever its header claims, so mutations
// of lengths and envelope fields reach the checks behind the CRC. Recovery and the readers
// read segments from files through a SegmentWindow, a chunk at a time: on each walk, a
// window over the same octets in a file, with chunks of a few octets, must find the same.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "mxring/engine/crc32c.h"
#include "mxring/engine/spool_format.h"
#include "segment_window.h"

namespace spool = mxring::engine::spool;

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void walk(std::string_view segment, mxring::engine::SegmentWindow& window) {
  std::size_t offset = 0;
  for (;;) {
    const auto parsed = spool::parse_record(segment, offset);
    const auto windowed = window.parse(offset, segment.size());
    if (windowed.status != parsed.status ||
        (parsed.status == spool::ParseStatus::ok &&
         (windowed.start != parsed.start || windowed.next != parsed.next ||
          windowed.record.message != parsed.record.message ||
          windowed.record.envelope != parsed.record.envelope)))
      std::abort();
    // `mxring spool cat` hops headers without CRCs and checks the CRC of the one it prints:
    // that must accept exactly what parse_record accepts, at the same place.
    const auto unchecked = spool::parse_record_unchecked(segment, offset);
    const bool accepted =
        unchecked.status == spool::ParseStatus::ok && spool::record_crc_matches(segment, unchecked);
    if (accepted != (parsed.status == spool::ParseStatus::ok) ||
        (accepted && (unchecked.start != parsed.start || unchecked.next != parsed.next)))
      std::abort();
    if (parsed.status != spool::ParseStatus::ok) return;
    if (parsed.start < offset || parsed.next <= parsed.start || parsed.next > segment.size())
      std::abort();
    const auto record = segment.substr(parsed.start, parsed.next - parsed.start);
    if (!inside(parsed.record.envelope, record) || !inside(parsed.record.message, record))
      std::abort();
    if (const auto envelope = spool::decode_envelope(parsed.record)) {
      std::size_t octets = envelope->mail_from.size() + envelope->helo.size();
      for (const auto& r : envelope->recipients) octets += r.address.size() + r.orcpt.size();
      if (octets > record.size()) std::abort();
    }
    offset = parsed.next;
  }
}

// The first record's CRC made right for the lengths its header gives, where they fit.
void seal_first_record(std::string& segment) {
  if (segment.size() < spool::kHeaderSize) return;
  std::uint32_t envelope_length;
  std::uint64_t message_length;
  std::memcpy(&envelope_length, segment.data() + 12, 4);
  std::memcpy(&message_length, segment.data() + 16, 8);
  const auto length = spool::record_length(envelope_length, message_length);
  if (!length || *length > segment.size()) return;
  std::memset(segment.data() + 24, 0, 4);
  const auto crc = mxring::engine::crc32c(0, segment.data(), *length);
  std::memcpy(segment.data() + 24, &crc, 4);
}

// `segment` in a file of its own (in memory), for a SegmentWindow to read.
int file_of(std::string_view segment) {
  const int fd = memfd_create("segment", MFD_CLOEXEC);
  if (fd < 0 ||
      pwrite(fd, segment.data(), segment.size(), 0) != static_cast<ssize_t>(segment.size()))
    std::abort();
  return fd;
}

void walk_both(std::string_view segment) {
  const int fd = file_of(segment);
  // A chunk size from the input, 1 to 64 octets: records straddle reads every which way.
  mxring::engine::SegmentWindow window(fd, segment.empty() ? 1 : 1 + segment.back() % 64);
  walk(segment, window);
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string segment(reinterpret_cast<const char*>(data), size);
  walk_both(segment);
  seal_first_record(segment);
  walk_both(segment);
  return 0;
}
