// One reactor's wolfSSL contexts: one per certificate, all with the same safe settings (TLS
// 1.2 minimum, the AEAD-only cipher list, X25519 first, shared session-ticket keys). A
// handshake starts on the first; the SNI callback moves it to the certificate its server
// name selects. Per reactor, so no context is shared between threads (no locks).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mxring/engine/tls_certificates.h"
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

  std::shared_ptr<const TlsCertificates> certificates_;
  std::shared_ptr<const TicketKeys> tickets_;
  std::vector<WOLFSSL_CTX*> contexts_;
};

}  // namespace mxring::engine::tls
