// TLS server material: certificates and keys read from PEM files once, checked, and kept as
// an immutable set that every reactor builds its own wolfSSL contexts from. SIGHUP loads a
// new set; connections already open keep the one they started with.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace mxring::engine {

struct TlsCertificateFiles {
  std::string certificate;  // PEM: the certificate, then its chain
  std::string key;          // PEM private key (ECDSA or RSA)
};

// AEAD suites only, ChaCha20-Poly1305 first: the server's order is honoured, and ChaCha20 is
// the fastest AEAD in a wolfSSL built without AES-NI (uring-wolfssl.md §4.2). The Debian
// build's default list includes RC4, 3DES, NULL and integrity-only suites, so a list is
// always set explicitly.
inline constexpr const char* kDefaultTlsCiphers =
    "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";

struct TlsOptions {
  std::vector<TlsCertificateFiles> certificates;  // the first answers clients without SNI
  std::string ciphers = kDefaultTlsCiphers;
  bool allow_tls12 = true;  // false: TLS 1.3 only
};

class TlsCertificates {
 public:
  struct Certificate {
    std::string certificate_pem;
    std::string key_pem;
    std::vector<std::string> names;  // DNS names from subjectAltName, else the CN; lower case
    std::string key_type;            // "ECDSA" or "RSA"
  };

  // Reads and checks every pair (the key matches its certificate, the cipher list is
  // accepted). Returns null with `error` naming the file at fault.
  static std::shared_ptr<const TlsCertificates> load(const TlsOptions& options, std::string& error);

  const std::vector<Certificate>& certificates() const { return certificates_; }
  const TlsOptions& options() const { return options_; }
  // The certificate for a server name (RFC 6066 §3): an exact name first, then a wildcard
  // covering one label; the first certificate when none matches or no name was sent.
  std::size_t select(std::string_view server_name) const;

 private:
  TlsOptions options_;
  std::vector<Certificate> certificates_;
};

}  // namespace mxring::engine
