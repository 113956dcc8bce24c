// The key that seals TLS session tickets (RFC 5077, RFC 8446 §4.6.1), shared by every
// reactor's contexts so a client resumes on whichever reactor the kernel hands it to.
// Random at start, kept in memory only, and kept across SIGHUP reloads so tickets issued
// before a certificate reload still resume.
#pragma once

#include <array>
#include <cstdint>

#include "wolfssl.h"

namespace mxring::engine::tls {

class TicketKeys {
 public:
  TicketKeys();  // draws the key name and the key from getrandom(2)

  // wolfSSL's SessionTicketEncCb; `user` is the TicketKeys. Seals with ChaCha20-Poly1305
  // (the tag goes in `mac`), the key name and IV authenticated as associated data.
  static int seal_or_open(WOLFSSL* ssl, unsigned char key_name[WOLFSSL_TICKET_NAME_SZ],
                          unsigned char iv[WOLFSSL_TICKET_IV_SZ],
                          unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int encrypt,
                          unsigned char* ticket, int length, int* out_length, void* user);

 private:
  std::array<unsigned char, WOLFSSL_TICKET_NAME_SZ> name_{};
  std::array<unsigned char, CHACHA20_POLY1305_AEAD_KEYSIZE> key_{};
};

}  // namespace mxring::engine::tls
