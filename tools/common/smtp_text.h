// Text transformations an SMTP client needs: dot-stuffing for DATA (RFC 5321 §4.5.2) and
// xtext for ENVID/ORCPT values (RFC 3461 §4).
#pragma once

#include <string>
#include <string_view>

namespace mxring::tools {

// Every line that starts with '.' gets one more; the result ends in CRLF (without the final
// ".\r\n"), adding one if `message` did not end in a line end.
std::string dot_stuffed(std::string_view message);

std::string xtext_encoded(std::string_view value);

}  // namespace mxring::tools
