// Command-line framing: CRLF only, a cap enforced before the line end, resumable scans.
#include "mxring/parser/line_scanner.h"

#include "impl_internal.h"

namespace mxring::parser {

LineScanner::LineScanner(std::uint32_t max_length, Impl impl)
    : max_length_(max_length), find_line_break_(detail::kernels_for(impl).find_line_break) {}

void LineScanner::reset() {
  scanned_ = 0;
  bare_cr_ = bare_lf_ = discarding_ = discard_saw_cr_ = false;
}

Line LineScanner::next(std::span<const char> bytes) {
  if (discarding_) return discard_until_line_end(bytes, 0);
  const auto size = static_cast<std::uint32_t>(bytes.size());
  while (scanned_ < size) {
    const auto at = scanned_ + static_cast<std::uint32_t>(
                                   find_line_break_(bytes.data() + scanned_, size - scanned_));
    if (at == size) {
      scanned_ = size;
      break;
    }
    if (bytes[at] == '\n') {  // an LF with no CR before it: part of the line, and it taints it
      bare_lf_ = true;
      scanned_ = at + 1;
      continue;
    }
    if (at + 1 == size) {  // a CR whose partner has not arrived: rescan from it next time
      scanned_ = at;
      break;
    }
    if (bytes[at + 1] != '\n') {
      bare_cr_ = true;
      scanned_ = at + 1;
      continue;
    }
    Line line{.status = LineStatus::complete,
              .length = at,
              .consumed = at + 2,
              .bare_cr = bare_cr_,
              .bare_lf = bare_lf_,
              .too_long = at + 2 > max_length_};
    reset();
    return line;
  }
  // Every octet before `scanned_` is line content, so the finished line cannot fit once
  // content plus CRLF exceeds the cap: stop holding it (CVE-2026-38728 class).
  if (scanned_ + 2 > max_length_) {
    const auto known_clean = scanned_;  // no CRLF before it: do not look there again
    reset();
    discarding_ = true;
    return discard_until_line_end(bytes, known_clean);
  }
  return {};
}

Line LineScanner::discard_until_line_end(std::span<const char> bytes, std::uint32_t from) {
  const auto size = static_cast<std::uint32_t>(bytes.size());
  if (discard_saw_cr_ && size > 0) {
    discard_saw_cr_ = false;
    if (bytes[0] == '\n') {
      reset();
      return {.status = LineStatus::complete, .consumed = 1, .too_long = true};
    }
  }
  while (from < size) {
    const auto at =
        from + static_cast<std::uint32_t>(find_line_break_(bytes.data() + from, size - from));
    if (at == size) break;
    if (bytes[at] == '\r' && at + 1 == size) {
      discard_saw_cr_ = true;
      break;
    }
    if (bytes[at] == '\r' && bytes[at + 1] == '\n') {
      reset();
      return {.status = LineStatus::complete, .consumed = at + 2, .too_long = true};
    }
    from = at + 1;
  }
  return {.status = LineStatus::discard, .consumed = size};
}

}  // namespace mxring::parser
