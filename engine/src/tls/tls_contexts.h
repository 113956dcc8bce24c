// One reactor's wolfSSL contexts: one per certificate, all with the same safe settings (TLS
// 1.2 minimum, the AEAD-only cipher list, X25519 first, shared session-ticket keys; P-256
// signatures by libcrypto, see P256Signer). A handshake starts on the first; the SNI
// callback moves it to the certificate its server name selects. Per reactor, so no context
// or signer is shared between threads (no locks).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mxring/engine/tls_certificates.h"
#include "p256_signer.h"
#include "ticket_keys.h"
#include "wolfssl.h"

namespace mxring::engine::tls {

class TlsContexts {
 public:
  // Null with `error` set when wolfSSL refuses a certificate, key or setting.
  static std::unique_ptr<TlsContexts> build(std::shared_ptr<const TlsCertificates> certificates,
                                            std::shared_ptr<const TicketKeys> tickets,
                                            std::string& error);
  ~TlsContexts();
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  // A server-side connection object reading and writing through `io` (see TlsStream).
  // Holds a reference to its context, so this set may be replaced while it lives.
  WOLFSSL* new_connection(void* io) const;

  const TlsCertificates& certificates() const { return *certificates_; }

 private:
  TlsContexts() = default;
  static int on_server_name(WOLFSSL* ssl, int* alert, void* self);
  static int on_ecc_sign(WOLFSSL* ssl, const unsigned char* digest, unsigned int digest_length,
                         unsigned char* out, word32* out_length, const unsigned char* key_der,
                         unsigned int key_der_length, void* unused);

  std::shared_ptr<const TlsCertificates> certificates_;
  std::shared_ptr<const TicketKeys> tickets_;
  std::vector<WOLFSSL_CTX*> contexts_;
  std::vector<std::unique_ptr<P256Signer>> signers_;  // for the contexts with a P-256 key
};

}  // namespace mxring::engine::tls
