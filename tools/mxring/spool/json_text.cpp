// The exporter's JSON strings over OutputBuffer (the escaper itself is the engine's), and
// base64 for messages that are not UTF-8.
#include "json_text.h"

#include "common/base64.h"
#include "mxring/engine/json_text.h"

namespace mxring::tools::spool {

bool append_json_string_if_utf8(OutputBuffer& out, std::string_view bytes) {
  char* const start = out.room(engine::json_string_room(bytes.size()));
  char* const end = engine::write_json_string_if_utf8(bytes, start);
  if (end == nullptr) return false;
  out.advance(static_cast<std::size_t>(end - start));
  return true;
}

void append_json_text(OutputBuffer& out, std::string_view bytes) {
  char* const start = out.room(engine::json_string_room(bytes.size()));
  out.advance(static_cast<std::size_t>(engine::write_json_text(bytes, start) - start));
}

void append_base64_string(OutputBuffer& out, std::string_view bytes) {
  char* const start = out.room(base64_length(bytes.size()) + 2);
  char* o = start;
  *o++ = '"';
  o = write_base64(bytes, o);
  *o++ = '"';
  out.advance(static_cast<std::size_t>(o - start));
}

}  // namespace mxring::tools::spool
