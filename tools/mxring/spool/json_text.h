// The message member of an exported JSON line: the octets as a JSON string when they are
// valid UTF-8 (RFC 8259 §7), else base64 (RFC 4648 §4). Both are written at memory speed:
// the escaper skips 16 plain octets a step with SSE2.
#pragma once

#include <string_view>

#include "output_buffer.h"

namespace mxring::tools::spool {

// Appends `bytes` as a quoted JSON string if they are valid UTF-8 and returns true; returns
// false (having appended nothing) otherwise.
bool append_json_string_if_utf8(OutputBuffer& out, std::string_view bytes);

// Appends `bytes` as a quoted JSON string whatever they hold: valid UTF-8 as it is, any other
// octet as the code point of the same value (\u0080-\u00ff, as Latin-1 would read it).
// For envelope fields, which are UTF-8 or ASCII unless a client misbehaved.
void append_json_text(OutputBuffer& out, std::string_view bytes);

// Appends `bytes` as quoted standard base64 with padding.
void append_base64_string(OutputBuffer& out, std::string_view bytes);

}  // namespace mxring::tools::spool
