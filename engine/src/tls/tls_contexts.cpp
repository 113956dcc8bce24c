#include "tls_contexts.h"

#include <array>

#include "stream_io.h"

namespace mxring::engine::tls {
namespace {

std::string wolfssl_error(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ] = "";
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
  return text;
}

}  // namespace

std::unique_ptr<TlsContexts> TlsContexts::build(std::shared_ptr<const TlsCertificates> certificates,
                                                std::shared_ptr<const TicketKeys> tickets,
                                                std::string& error) {
  initialise_library();
  std::unique_ptr<TlsContexts> set(new TlsContexts);
  set->certificates_ = std::move(certificates);
  set->tickets_ = std::move(tickets);
  const auto& options = set->certificates_->options();
  std::size_t index = 0;
  for (const auto& certificate : set->certificates_->certificates()) {
    const auto where = "certificate " + std::to_string(++index) + ": ";
    WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
    if (ctx == nullptr) {
      error = where + "cannot create a TLS context";
      return nullptr;
    }
    set->contexts_.push_back(ctx);
    // RFC 8996 retires TLS 1.0 and 1.1; RFC 8314 asks for 1.2 or later.
    if (wolfSSL_CTX_SetMinVersion(ctx, options.allow_tls12 ? WOLFSSL_TLSV1_2 : WOLFSSL_TLSV1_3) !=
        WOLFSSL_SUCCESS) {
      error = where + "cannot set the minimum TLS version";
      return nullptr;
    }
    if (wolfSSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != WOLFSSL_SUCCESS) {
      error = "cipher list refused: " + options.ciphers;
      return nullptr;
    }
    // X25519 first: the cheapest key exchange in this build (P-256 ECDH is 3x slower).
    std::array<int, 4> groups{WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1,
                              WOLFSSL_ECC_X448};
    wolfSSL_CTX_set_groups(ctx, groups.data(), static_cast<int>(groups.size()));
    const auto& cert = certificate.certificate_pem;
    const auto& key = certificate.key_pem;
    int rc = wolfSSL_CTX_use_certificate_chain_buffer_format(
        ctx, reinterpret_cast<const unsigned char*>(cert.data()), static_cast<long>(cert.size()),
        WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS) {
      error = where + "certificate refused: " + wolfssl_error(rc);
      return nullptr;
    }
    rc = wolfSSL_CTX_use_PrivateKey_buffer(ctx, reinterpret_cast<const unsigned char*>(key.data()),
                                           static_cast<long>(key.size()), WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS) {
      error = where + "key refused: " + wolfssl_error(rc);
      return nullptr;
    }
    if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) {
      error = where + "the key does not match the certificate";
      return nullptr;
    }
    if (auto signer = P256Signer::from_pem(key)) {
      wolfSSL_CTX_SetEccSignCb(ctx, &TlsContexts::on_ecc_sign);
      wolfSSL_CTX_SetEccSignCtx(ctx, signer.get());
      set->signers_.push_back(std::move(signer));
    }
    // Stateless tickets instead of wolfSSL's session cache, which is one process-wide table
    // behind a mutex that every reactor would share.
    wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
    wolfSSL_CTX_set_TicketEncCb(ctx, &TicketKeys::seal_or_open);
    wolfSSL_CTX_set_TicketEncCtx(ctx, const_cast<TicketKeys*>(set->tickets_.get()));
    wolfSSL_CTX_SetIORecv(ctx, &stream_receive);
    wolfSSL_CTX_SetIOSend(ctx, &stream_send);
    wolfSSL_CTX_set_servername_callback(ctx, &TlsContexts::on_server_name);
    wolfSSL_CTX_set_servername_arg(ctx, set.get());
  }
  if (set->contexts_.empty()) {
    error = "no certificate";
    return nullptr;
  }
  return set;
}

TlsContexts::~TlsContexts() {
  // wolfSSL counts the connections still using a context; it is freed after the last.
  for (auto* ctx : contexts_) wolfSSL_CTX_free(ctx);
}

WOLFSSL* TlsContexts::new_connection(void* io) const {
  WOLFSSL* ssl = wolfSSL_new(contexts_.front());
  if (ssl == nullptr) return nullptr;
  wolfSSL_SetIOReadCtx(ssl, io);
  wolfSSL_SetIOWriteCtx(ssl, io);
  return ssl;
}

// RFC 6066 §3: the certificate for the name the client asked for; the first one otherwise.
int TlsContexts::on_server_name(WOLFSSL* ssl, int*, void* self) {
  const auto& set = *static_cast<const TlsContexts*>(self);
  const char* name = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME);
  if (name == nullptr || set.contexts_.size() == 1) return 0;
  const auto chosen = set.certificates_->select(name);
  if (chosen != 0) wolfSSL_set_SSL_CTX(ssl, set.contexts_[chosen]);
  return 0;  // SSL_TLSEXT_ERR_OK: an unknown name still gets the default certificate
}

// wolfSSL's PK callback for the handshake signature. The signer is looked up on the
// connection's current context, not taken from `unused` (the per-connection copy made by
// wolfSSL_new), because SNI may have moved the connection to another certificate since.
int TlsContexts::on_ecc_sign(WOLFSSL* ssl, const unsigned char* digest, unsigned int digest_length,
                             unsigned char* out, word32* out_length, const unsigned char*,
                             unsigned int, void*) {
  auto* signer = static_cast<P256Signer*>(wolfSSL_CTX_GetEccSignCtx(wolfSSL_get_SSL_CTX(ssl)));
  if (signer == nullptr) return WOLFSSL_FATAL_ERROR;
  const auto length = signer->sign({digest, digest_length}, {out, *out_length});
  if (length == 0) return WOLFSSL_FATAL_ERROR;
  *out_length = static_cast<word32>(length);
  return 0;
}

}  // namespace mxring::engine::tls
