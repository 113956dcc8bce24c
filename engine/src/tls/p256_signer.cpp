#include "p256_signer.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>

namespace mxring::engine::tls {

std::unique_ptr<P256Signer> P256Signer::from_pem(std::string_view key_pem) {
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  if (bio == nullptr) return nullptr;
  // No passphrase callback: an encrypted key is not ours to sign with.
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return nullptr;
  char group[32] = "";
  std::size_t length = 0;
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &length) != 1 ||
      std::strcmp(group, "prime256v1") != 0) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  if (context == nullptr || EVP_PKEY_sign_init(context) != 1) {
    EVP_PKEY_CTX_free(context);
    EVP_PKEY_free(key);
    return nullptr;
  }
  return std::unique_ptr<P256Signer>(new P256Signer(key, context));
}

P256Signer::~P256Signer() {
  EVP_PKEY_CTX_free(context_);
  EVP_PKEY_free(key_);
}

std::size_t P256Signer::sign(std::span<const unsigned char> digest, std::span<unsigned char> out) {
  std::size_t length = out.size();
  if (EVP_PKEY_sign(context_, out.data(), &length, digest.data(), digest.size()) != 1) return 0;
  return length;
}

}  // namespace mxring::engine::tls
