// The header section of a message (RFC 5322 §2.2), read as far as a rule about it needs.
#pragma once

#include <cstdint>
#include <string_view>

namespace mxring::parser {

// Counts the Received fields (RFC 5321 §4.4) in the header section of `message`: the lines
// before the first empty one, a field name compared without regard to case and allowed
// white space before its colon (RFC 5322 §4.5, obsolete syntax). Stops counting at `stop_at`.
// Lines may end in CRLF or, in BINARYMIME content, LF alone.
std::uint32_t count_received_fields(std::string_view message, std::uint32_t stop_at);

}  // namespace mxring::parser
