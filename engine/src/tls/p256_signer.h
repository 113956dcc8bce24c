// The handshake's ECDSA P-256 signature, made by libcrypto instead of wolfSSL. Debian's
// wolfSSL is built without its P-256 code (`--enable-sp`), so it signs with generic
// multi-precision arithmetic: 67 µs a signature on the benchmark machine, against 19 µs for
// libcrypto's constant-time P-256 (ecp_nistz256, `openssl speed ecdsap256`). A full
// handshake signs once (TLS 1.3 CertificateVerify, RFC 8446 §4.4.3; TLS 1.2
// ServerKeyExchange, RFC 8422 §5.4), and a TLS session of a few round trips spends a tenth of
// its server CPU there. wolfSSL hands the signature over through its PK callback
// (`wolfSSL_CTX_SetEccSignCb`) and still does everything else.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

struct evp_pkey_st;
struct evp_pkey_ctx_st;

namespace mxring::engine::tls {

class P256Signer {
 public:
  // Null unless `key_pem` is an unencrypted P-256 private key (RSA and other curves stay
  // with wolfSSL).
  static std::unique_ptr<P256Signer> from_pem(std::string_view key_pem);
  ~P256Signer();
  P256Signer(const P256Signer&) = delete;
  P256Signer& operator=(const P256Signer&) = delete;

  // The DER-encoded ECDSA signature (ECDSA-Sig-Value, RFC 3279 §2.2.3) of `digest` into
  // `out`: its length, or 0 if signing failed or it did not fit. One signer per reactor: the
  // reused libcrypto context is not for concurrent use.
  std::size_t sign(std::span<const unsigned char> digest, std::span<unsigned char> out);

 private:
  P256Signer(evp_pkey_st* key, evp_pkey_ctx_st* context) : key_(key), context_(context) {}
  evp_pkey_st* key_;
  evp_pkey_ctx_st* context_;  // sign-initialised once, reused for every signature
};

}  // namespace mxring::engine::tls
