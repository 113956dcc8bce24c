// The decoding half of SASL PLAIN (RFC 4616) and LOGIN over SMTP AUTH (RFC 4954): base64
// responses in, credentials out. Verifying them is the host's job (slow hashes, off-reactor).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mxring::engine::sasl {

// Strict RFC 4648 §4 base64: canonical padding, no whitespace, no other alphabet.
std::optional<std::string> base64_decode(std::string_view text);

struct PlainCredentials {
  std::string authzid;
  std::string authcid;
  std::string password;
};

// RFC 4616 §2: [authzid] NUL authcid NUL passwd, authcid and passwd non-empty, no other NUL.
std::optional<PlainCredentials> decode_plain(std::string_view message);

}  // namespace mxring::engine::sasl
