// What a server's EHLO reply offers (RFC 5321 §4.1.1.1): the service extensions mxring's
// clients act on, SIZE's limit (RFC 1870) and LIMITS (RFC 9422).
#pragma once

#include <cstdint>
#include <string_view>

namespace mxring::tools {

struct EhloOffer {
  bool pipelining = false, chunking = false, binary_mime = false, eight_bit_mime = false;
  bool starttls = false, smtputf8 = false, dsn = false, size = false;
  std::uint64_t size_limit = 0;  // SIZE's argument; 0: none given
  std::uint64_t mail_max = 0;    // LIMITS MAILMAX: transactions per connection; 0: none given
  std::uint64_t rcpt_max = 0;    // LIMITS RCPTMAX: recipients per transaction; 0: none given
};

// `reply` is the whole 250 reply, its lines separated by CRLF; the first line (the server's
// name) offers nothing. Keywords are case-insensitive.
EhloOffer read_ehlo_offer(std::string_view reply);

}  // namespace mxring::tools
