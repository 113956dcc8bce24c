// The trace field mxring prepends to every stored message (RFC 5321 §4.4), with the protocol
// names of RFC 3848 and RFC 6531 §3.7.3.
#pragma once

#include <cstdint>
#include <string_view>

#include "mxring/engine/byte_buffer.h"

namespace mxring::engine {

struct ReceivedFields {
  std::string_view helo;
  bool esmtp = false;
  std::string_view client_address;  // numeric
  std::string_view host_name;
  std::string_view tls_version;  // empty: plaintext
  std::string_view tls_cipher;
  bool authenticated = false;
  bool smtputf8 = false;
  std::string_view queue_id;
  std::string_view single_recipient;  // empty: several (not disclosed, RFC 5321 §7.2)
  std::int64_t unix_seconds = 0;
};

// "SMTP", "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA", or their "UTF8SMTP…" forms.
std::string_view received_protocol(const ReceivedFields& fields);

// RFC 5322 §3.3 date-time in UTC, e.g. "Sat, 28 Nov 2026 03:24:41 +0000"; returns its length.
std::size_t format_rfc5322_date(std::int64_t unix_seconds, char (&out)[32]);

void append_received_header(ByteBuffer& out, const ReceivedFields& fields);

}  // namespace mxring::engine
