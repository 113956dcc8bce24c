// Finds CRLF-terminated SMTP command lines in received bytes, enforcing the line cap before the
// line end arrives. A bare CR or bare LF is never a line end (SMTP smuggling, CVE-2023-51764).
#pragma once

#include <cstdint>
#include <span>

#include "mxring/parser/impl.h"

namespace mxring::parser {

enum class LineStatus : std::uint8_t {
  complete,   // a whole line (maybe flagged invalid): drop `consumed` bytes, then call again
  need_more,  // no line end yet: call again with the same start and more bytes appended
  discard,    // the line is over the cap: drop `consumed` bytes now; its end comes later
};

struct Line {
  LineStatus status = LineStatus::need_more;
  std::uint32_t length = 0;    // complete: octets before the CRLF
  std::uint32_t consumed = 0;  // complete: through the CRLF; discard: octets to drop
  bool bare_cr = false;        // complete: a CR not followed by LF was inside the line
  bool bare_lf = false;        // complete: an LF not preceded by CR was inside the line
  bool too_long = false;       // complete: the line (with CRLF) exceeded the cap

  bool valid() const { return status == LineStatus::complete && !bare_cr && !bare_lf && !too_long; }
};

// One per connection. Feed it the bytes of the current line from its first byte (or, while
// discarding, from where the last call stopped); bytes already scanned are not scanned again
// when the line grows, so a client trickling one byte at a time costs O(n), not O(n^2).
class LineScanner {
 public:
  // `max_length` counts the CRLF: RFC 5321 §4.5.3.1.4 gives 512 for a command line, more when
  // ESMTP parameters are allowed (RFC 1869 §4.1.2).
  explicit LineScanner(std::uint32_t max_length, Impl impl = active_impl());

  // `bytes` must have kPadding readable bytes after its end.
  Line next(std::span<const char> bytes);

  // Forget a partial line (e.g. when STARTTLS discards buffered plaintext).
  void reset();

  std::uint32_t max_length() const { return max_length_; }

  // Octets of the current line already known to hold no line end: where the next scan starts.
  std::uint32_t resume_offset() const { return scanned_; }

 private:
  // Drops octets up to the next CRLF, searching from `from` (earlier octets hold none).
  Line discard_until_line_end(std::span<const char> bytes, std::uint32_t from);

  std::uint32_t max_length_;
  std::uint32_t scanned_ = 0;
  bool bare_cr_ = false;
  bool bare_lf_ = false;
  bool discarding_ = false;
  bool discard_saw_cr_ = false;
  std::size_t (*find_line_break_)(const char*, std::size_t);
};

}  // namespace mxring::parser
