// Streaming scanner for the DATA content (RFC 5321 §4.1.1.4): finds the only valid end,
// <CRLF>.<CRLF>, removes dot-stuffing (§4.5.2) and flags what the session must refuse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "mxring/parser/data_scan_state.h"
#include "mxring/parser/impl.h"

namespace mxring::parser {

// What was seen in the message so far. Flags are sticky until reset().
struct DataFlags {
  bool bare_cr = false;    // CR not followed by LF: never a line end (CVE-2023-51764/5/6)
  bool bare_lf = false;    // LF not preceded by CR: never a line end (CVE-2024-27305)
  bool nul = false;        // NUL octet (RFC 6152 §3 forbids it outside BINARYMIME)
  bool long_line = false;  // a line over `max_line` octets before its CRLF (RFC 5322 §2.1.1)
  bool eight_bit = false;  // an octet above 127 (needs 8BITMIME, RFC 6152)

  bool operator==(const DataFlags&) const = default;
};

struct DataLimits {
  std::uint32_t max_line = 998;  // octets, excluding CRLF and any stuffing dot
};

struct DataScan {
  std::size_t consumed = 0;  // input octets used, including the terminator when `ended`
  std::size_t written = 0;   // message octets written to `out`
  bool ended = false;        // <CRLF>.<CRLF> seen; input after `consumed` is the next command
};

// One per transaction, fed every DATA byte in order, split anywhere.
class DataScanner {
 public:
  explicit DataScanner(DataLimits limits = {}, Impl impl = active_impl());

  // `in` must have kPadding readable bytes after its end; `out` must have room for
  // in.size() + kPadding octets. The message is written without its terminator ".\r\n" and
  // with stuffing dots removed; its final CRLF is kept (it ends the last line).
  DataScan scan(std::span<const char> in, char* out);

  DataFlags flags() const;
  bool ended() const;
  Impl impl() const { return impl_; }
  void reset();

 private:
  DataScanState state_;
  Impl impl_;
};

// The scalar reference: byte at a time, kept forever; every SIMD path must equal it.
DataScan scan_data_scalar(DataScanState& state, std::span<const char> in, char* out);

}  // namespace mxring::parser
