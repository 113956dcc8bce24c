// The per-instruction-set kernel table. Kernel files are compiled with their own -m flags and
// include only this header and intrinsics, so no standard-library code is built for a CPU
// feature the running machine may lack.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mxring/parser/data_scan_state.h"

namespace mxring::parser::kernels {

struct Progress {
  std::size_t consumed;
  std::size_t written;
};

// The common shape of a MAIL FROM / RCPT TO argument, found in one pass over at most 64 octets:
// "<local@domain>" (local part of letters, digits and . _ + = -, dots and labels well placed)
// then " keyword[=value]" parameters, ASCII only. Offsets into the argument; a parameter
// without a value has value_end == keyword_end. Anything else is left to the full grammar.
struct ArgumentShape {
  static constexpr unsigned kMaxParameters = 8;
  std::uint8_t at;        // the '@'
  std::uint8_t path_end;  // the '>'
  std::uint8_t parameters;
  std::uint8_t keyword[kMaxParameters];
  std::uint8_t keyword_end[kMaxParameters];
  std::uint8_t value_end[kMaxParameters];
};

struct Kernels {
  // Consumes whole blocks while they are plain text: every line end a CRLF, no dot at a line
  // start. Stops at the first block that needs the scalar reference; never ends a message.
  Progress (*plain_data_blocks)(DataScanState& state, const char* in, std::size_t n, char* out);
  // Index of the first CR or LF in [p, p+n), or n.
  std::size_t (*find_line_break)(const char* p, std::size_t n);
  // True, with `shape` filled, when the n octets at `text` have the common shape above. Null
  // where no kernel pays (the full grammar runs).
  bool (*argument_shape)(const char* text, std::size_t n, ArgumentShape& shape);
};

extern const Kernels kScalar;
extern const Kernels kSse;
extern const Kernels kAvx2;
extern const Kernels kAvx512;

}  // namespace mxring::parser::kernels
