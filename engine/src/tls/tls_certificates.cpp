#include "mxring/engine/tls_certificates.h"

#include <algorithm>

#include "mxring/engine/file_text.h"
#include "tls_contexts.h"

namespace mxring::engine {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The names a certificate answers for (RFC 6125 §6.4.4: subjectAltName DNS names when
// present, else the subject CN), and its key type.
bool describe(TlsCertificates::Certificate& c) {
  WOLFSSL_X509* x509 = wolfSSL_X509_load_certificate_buffer(
      reinterpret_cast<const unsigned char*>(c.certificate_pem.data()),
      static_cast<int>(c.certificate_pem.size()), WOLFSSL_FILETYPE_PEM);
  if (x509 == nullptr) return false;
  while (const char* name = wolfSSL_X509_get_next_altname(x509)) c.names.push_back(lower(name));
  if (c.names.empty()) {
    char cn[256] = "";
    if (wolfSSL_X509_NAME_get_text_by_NID(wolfSSL_X509_get_subject_name(x509), NID_commonName, cn,
                                          sizeof cn) > 0)
      c.names.push_back(lower(cn));
  }
  c.key_type = wolfSSL_X509_get_pubkey_type(x509) == ECDSAk ? "ECDSA" : "RSA";
  wolfSSL_X509_free(x509);
  return true;
}

}  // namespace

std::shared_ptr<const TlsCertificates> TlsCertificates::load(const TlsOptions& options,
                                                             std::string& error) {
  auto set = std::make_shared<TlsCertificates>();
  set->options_ = options;
  tls::initialise_library();
  for (const auto& files : options.certificates) {
    Certificate c;
    for (const auto& [path, pem] :
         {std::pair{&files.certificate, &c.certificate_pem}, std::pair{&files.key, &c.key_pem}}) {
      auto text = read_file_text(*path);
      if (!text) {
        error = "cannot read " + *path;
        return nullptr;
      }
      *pem = std::move(*text);
    }
    if (!describe(c)) {
      error = files.certificate + ": not a PEM certificate";
      return nullptr;
    }
    set->certificates_.push_back(std::move(c));
  }
  if (set->certificates_.empty()) {
    error = "no certificate configured";
    return nullptr;
  }
  // What a reactor will do with each pair, done once now so a bad file is reported at
  // start (or at SIGHUP, keeping the old set) rather than at the first handshake.
  const auto tickets = std::make_shared<const tls::TicketKeys>();
  for (std::size_t i = 0; i < set->certificates_.size(); ++i) {
    auto one = std::make_shared<TlsCertificates>();
    one->options_ = options;
    one->certificates_ = {set->certificates_[i]};
    std::string why;
    if (!tls::TlsContexts::build(one, tickets, why)) {
      error =
          options.certificates[i].certificate + " / " + options.certificates[i].key + ": " + why;
      return nullptr;
    }
  }
  return set;
}

std::size_t TlsCertificates::select(std::string_view server_name) const {
  const auto name = lower(std::string(server_name));
  for (std::size_t i = 0; i < certificates_.size(); ++i)
    for (const auto& n : certificates_[i].names)
      if (n == name) return i;
  // "*.example.org" covers exactly one label: "mx.example.org", not "a.b.example.org".
  const auto dot = name.find('.');
  if (dot != std::string::npos && dot > 0) {
    const auto wildcard = "*" + name.substr(dot);
    for (std::size_t i = 0; i < certificates_.size(); ++i)
      for (const auto& n : certificates_[i].names)
        if (n == wildcard) return i;
  }
  return 0;
}

}  // namespace mxring::engine
