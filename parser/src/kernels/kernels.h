// The per-instruction-set kernel table. Kernel files are compiled with their own -m flags and
// include only this header, atext.h and intrinsics, so no standard-library code is built for a
// CPU feature the running machine may lack.
#pragma once

#include <cstddef>

#include "mxring/parser/data_scan_state.h"

namespace mxring::parser::kernels {

struct Progress {
  std::size_t consumed;
  std::size_t written;
};

// Where a plain mailbox splits: "@" at `at`, the closing ">" right after the domain at `end`.
// `end` 0: not decided here, the scalar grammar must.
struct MailboxSplit {
  unsigned at = 0;
  unsigned end = 0;
};

struct Kernels {
  // Consumes whole blocks while they are plain text: every line end a CRLF, no dot at a line
  // start. Stops at the first block that needs the scalar reference; never ends a message.
  Progress (*plain_data_blocks)(DataScanState& state, const char* in, std::size_t n, char* out);
  // Index of the first CR or LF in [p, p+n), or n.
  std::size_t (*find_line_break)(const char* p, std::size_t n);
  // The `local@domain` at p (n octets readable, no padding needed) when it is a Dot-string
  // and a plain domain within 64 octets; null where no kernel exists (mailbox_vbmi.h).
  MailboxSplit (*plain_mailbox)(const char* p, std::size_t n);
  // The masks of the `blocks` whole 64-octet blocks at `in` (ContentChecker).
  void (*content_masks)(const char* in, std::size_t blocks, ContentMasks* out);
};

extern const Kernels kScalar;
extern const Kernels kSse;
extern const Kernels kAvx2;
extern const Kernels kAvx512;
extern const Kernels kAvx512Vbmi;

}  // namespace mxring::parser::kernels
