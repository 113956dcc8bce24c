// What BDAT content holds that DATA's scanner flags (DataFlags): a bare CR or LF, a NUL, a
// line over the limit, an octet above 127. BDAT counts its octets (RFC 3030 §2), so nothing
// in them ends the message and no dot is special; but outside BODY=BINARYMIME (RFC 3030 §3)
// the content is still text, whose CR and LF come only as CRLF (RFC 5322 §2.3). A message
// that breaks that is refused, not stored for a reader that takes a bare LF for a line end
// and passes on "\n.\n" as the end of the data (SMTP smuggling, CVE-2023-51764 class).
#pragma once

#include <cstdint>
#include <span>

#include "mxring/parser/data_scanner.h"
#include "mxring/parser/impl.h"

namespace mxring::parser {

// One per message, fed every chunk's octets in order, split anywhere: a CR that ends one
// piece and the LF that starts the next are one line end.
class ContentChecker {
 public:
  explicit ContentChecker(DataLimits limits = {}, Impl impl = active_impl())
      : max_line_(limits.max_line), impl_(impl) {}

  void scan(std::span<const char> in);
  // The flags so far. A CR that ends what was scanned is not bare yet: the next octet decides.
  DataFlags flags() const;
  // The flags of the whole content, once nothing more comes: a CR at its very end is bare.
  DataFlags final_flags() const;
  void reset() { *this = ContentChecker(DataLimits{.max_line = max_line_}, impl_); }

 private:
  // The next `count` (1 to 64) octets, as masks (no bit set past `count`).
  void block(const ContentMasks& m, unsigned count);
  DataFlags with_open_line(bool cr_is_bare) const;

  std::uint32_t max_line_;
  Impl impl_;
  bool pending_cr_ = false;       // the last octet scanned is a CR
  std::uint64_t scanned_ = 0;     // octets scanned
  std::uint64_t line_start_ = 0;  // offset of the open line's first octet
  DataFlags flags_;
};

// The reference: one octet at a time, kept to test scan() against.
DataFlags check_content_scalar(std::span<const char> in, DataLimits limits = {});

}  // namespace mxring::parser
