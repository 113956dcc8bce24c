// The spool record format, version 1: what storage writers append to segment files and what
// `mxring spool` and downstream readers parse. The byte-level specification a third party can
// implement from is engine/SPOOL-FORMAT.md; this header is its reference implementation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "mxring/engine/envelope.h"

namespace mxring::engine::spool {

inline constexpr std::string_view kMagic = "MXR1";
inline constexpr std::uint16_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 80;
// Writers using direct I/O start each batch at a multiple of this, with zero octets (padding)
// before it (SPOOL-FORMAT.md §1).
inline constexpr std::size_t kBatchAlignment = 4096;

// No record is longer than a segment may grow: offsets in a segment have 40 bits (the commit
// marker's, SPOOL-FORMAT.md §5).
inline constexpr std::uint64_t kMaxRecordLength = std::uint64_t{1} << 40;

// A record's whole length, 80 + E + M, from the two lengths its header gives; none when no
// record can be that long. Headers come off the disk: a damaged one may give lengths whose
// sum wraps around, which must read as corruption, never as a short record.
inline std::optional<std::uint64_t> record_length(std::uint32_t envelope_length,
                                                  std::uint64_t message_length) {
  if (message_length > kMaxRecordLength) return std::nullopt;
  const std::uint64_t length = kHeaderSize + envelope_length + message_length;  // < 2^41
  if (length > kMaxRecordLength) return std::nullopt;
  return length;
}

// The whole length of the record whose header begins `header` (at least kHeaderSize
// octets), from the two lengths it gives; none as for record_length. Lets a reader know how
// much of a segment a record takes before it has it all.
std::optional<std::uint64_t> record_length_in(std::string_view header);

// Where the records of a segment resume when the octet at `offset` is zero (padding): the
// next multiple of kBatchAlignment, or `size` (the rest of the segment is padding) when the
// padding begins at such a multiple.
inline std::uint64_t after_padding(std::uint64_t offset, std::uint64_t size) {
  if (offset % kBatchAlignment == 0) return size;
  const auto next = offset + kBatchAlignment - offset % kBatchAlignment;
  return next < size ? next : size;
}

enum RecordFlag : std::uint16_t {
  kFlagEightBit = 1,   // the message holds octets above 127
  kFlagLongLines = 2,  // a line over 998 octets (kept intact)
  kFlagChunked = 4,    // received by BDAT
};

// Envelope field tags (SPOOL-FORMAT.md §3). Readers skip tags they do not know.
enum Tag : std::uint16_t {
  kClientAddress = 1,
  kClientPort = 2,
  kListener = 3,
  kRole = 4,
  kHelo = 5,
  kEsmtp = 6,
  kTlsVersion = 7,
  kTlsCipher = 8,
  kAuthIdentity = 9,
  kMailFrom = 10,
  kBody = 11,
  kSmtputf8 = 12,
  kRequiretls = 13,
  kRet = 14,
  kEnvid = 15,
  kMailAuth = 16,
  kDeclaredSize = 17,
  kRecipient = 18,
  kTlsServerName = 19,  // written after kTlsCipher
  kProxyPeer = 20,      // PROXY protocol: written after kRole, then 21-23 when present
  kProxyAuthority = 21,
  kProxyTlsVersion = 22,
  kProxyTlsCipher = 23,
  kProxyVia = 24,    // "xclient" when XCLIENT named the client (absent: PROXY header)
  kClientName = 25,  // XCLIENT NAME
};

struct RecordHeader {
  std::uint16_t version = kVersion;
  std::uint16_t flags = 0;
  std::uint32_t envelope_length = 0;
  std::uint64_t message_length = 0;
  std::uint32_t crc = 0;
  QueueId queue_id;
  std::int64_t received_at_us = 0;
  std::int64_t stored_at_us = 0;
};

// The header and envelope of `message` (the content follows them on disk), CRC included.
std::string encode_record_prefix(const Message& message, std::int64_t stored_at_us);
// The same, appended to `out`: a writer encodes a whole batch into one buffer it keeps.
void append_record_prefix(const Message& message, std::int64_t stored_at_us, std::string& out);

enum class ParseStatus : std::uint8_t {
  ok,
  end,        // no octets left at `offset`
  truncated,  // a record starts but its octets stop short: a torn tail
  corrupt,    // a record whose magic, version, lengths or CRC are wrong
};

struct RecordView {
  RecordHeader header;
  std::string_view envelope;
  std::string_view message;
};

struct ParseResult {
  ParseStatus status = ParseStatus::end;
  RecordView record;
  std::size_t start = 0;  // where the record starts: `offset`, or past padding
  std::size_t next = 0;   // offset of the following record (or padding) when ok
};

// The record at `offset`, or the first one after padding there. Padding that is not all zeros
// is corrupt; records after padding that runs to the end of the segment are a torn tail (a
// later batch written before an earlier one was, neither acknowledged).
ParseResult parse_record(std::string_view segment, std::size_t offset);

// The same checks but the CRC's, which costs a pass over the whole record: for a reader that
// hops from header to header looking for one record (and then checks that one's CRC).
ParseResult parse_record_unchecked(std::string_view segment, std::size_t offset);
// Whether the CRC of a record parse_record_unchecked found (status ok) matches its octets.
bool record_crc_matches(std::string_view segment, const ParseResult& parsed);

// The envelope fields of a record (queue id, times and flags come from its header).
std::optional<Envelope> decode_envelope(const RecordView& record);

// The same without copying, for readers that only pass fields on (exports at memory speed):
// calls visit(tag, value) for each field in order. False when the envelope is malformed.
template <typename Visit>
bool for_each_envelope_field(std::string_view envelope, Visit&& visit) {
  while (!envelope.empty()) {
    if (envelope.size() < 6) return false;
    std::uint16_t tag;
    std::uint32_t length;
    std::memcpy(&tag, envelope.data(), sizeof tag);  // little-endian hosts only (x86-64)
    std::memcpy(&length, envelope.data() + 2, sizeof length);
    if (envelope.size() - 6 < length) return false;
    visit(tag, envelope.substr(6, length));
    envelope.remove_prefix(6 + std::size_t{length});
  }
  return true;
}

// A recipient field's value (tag kRecipient), viewed in place.
struct RecipientView {
  std::uint8_t notify = 0;
  std::string_view address;
  std::string_view orcpt;
};
std::optional<RecipientView> parse_recipient(std::string_view value);

}  // namespace mxring::engine::spool
