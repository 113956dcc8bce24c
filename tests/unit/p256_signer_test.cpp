// P256Signer: libcrypto's signatures verify under the certificate's public key as wolfSSL
// (the client's side of the check) reads it; keys it must not sign with are left to wolfSSL.
#include "tls/p256_signer.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "mxring/engine/tls_certificates.h"
#include "tls/wolfssl.h"

namespace mxring::engine::tls {
namespace {

const std::string kData = MXRING_TLS_TEST_DATA;

// A certificate and its key as mxringd reads them (the PEM text TlsContexts hands the signer).
TlsCertificates::Certificate loaded(const std::string& name) {
  TlsOptions options;
  options.certificates = {{kData + "/" + name + ".pem", kData + "/" + name + ".key"}};
  std::string error;
  const auto set = TlsCertificates::load(options, error);
  EXPECT_TRUE(set) << error;
  return set ? set->certificates().at(0) : TlsCertificates::Certificate{};
}

// The public key of a certificate, decoded by wolfSSL.
class CertificateKey {
 public:
  explicit CertificateKey(const std::string& pem) {
    wc_ecc_init(&key_);
    WOLFSSL_X509* x509 =
        wolfSSL_X509_load_certificate_buffer(reinterpret_cast<const unsigned char*>(pem.data()),
                                             static_cast<int>(pem.size()), WOLFSSL_FILETYPE_PEM);
    if (x509 == nullptr) return;
    std::array<unsigned char, 512> der{};
    int length = static_cast<int>(der.size());
    if (wolfSSL_X509_get_pubkey_buffer(x509, der.data(), &length) == WOLFSSL_SUCCESS) {
      word32 at = 0;
      loaded_ = wc_EccPublicKeyDecode(der.data(), &at, &key_, static_cast<word32>(length)) == 0;
    }
    wolfSSL_X509_free(x509);
  }
  ~CertificateKey() { wc_ecc_free(&key_); }

  bool loaded() const { return loaded_; }
  bool verifies(const std::vector<unsigned char>& signature,
                const std::array<unsigned char, 32>& digest) {
    int valid = 0;
    const int rc = wc_ecc_verify_hash(signature.data(), static_cast<word32>(signature.size()),
                                      digest.data(), digest.size(), &valid, &key_);
    return rc == 0 && valid == 1;
  }

 private:
  ecc_key key_{};
  bool loaded_ = false;
};

std::vector<unsigned char> sign(P256Signer& signer, const std::array<unsigned char, 32>& digest) {
  std::vector<unsigned char> out(80);  // a P-256 signature in DER is at most 72 octets
  out.resize(signer.sign(digest, out));
  return out;
}

std::array<unsigned char, 32> digest_of(unsigned char seed) {
  std::array<unsigned char, 32> digest{};
  for (std::size_t i = 0; i < digest.size(); ++i)
    digest[i] = static_cast<unsigned char>(seed + 7 * i);
  return digest;
}

TEST(P256SignerTest, SignaturesVerifyUnderTheCertificatesKeyAndOnlyForTheirDigest) {
  const auto mx = loaded("mx-ecdsa");
  auto signer = P256Signer::from_pem(mx.key_pem);
  ASSERT_TRUE(signer);
  CertificateKey certificate(mx.certificate_pem);
  ASSERT_TRUE(certificate.loaded());
  for (unsigned char seed = 0; seed < 20; ++seed) {  // one reused libcrypto context, many uses
    const auto digest = digest_of(seed);
    const auto signature = sign(*signer, digest);
    ASSERT_FALSE(signature.empty());
    EXPECT_EQ(signature[0], 0x30);  // DER: ECDSA-Sig-Value is a SEQUENCE
    EXPECT_TRUE(certificate.verifies(signature, digest)) << int{seed};
    auto other = digest;
    other[31] ^= 1;
    EXPECT_FALSE(certificate.verifies(signature, other)) << int{seed};
  }
}

TEST(P256SignerTest, SignaturesDoNotVerifyUnderAnotherKey) {
  auto signer = P256Signer::from_pem(loaded("mx-ecdsa").key_pem);
  ASSERT_TRUE(signer);
  WC_RNG rng;
  ASSERT_EQ(wc_InitRng(&rng), 0);
  ecc_key stranger;
  wc_ecc_init(&stranger);
  ASSERT_EQ(wc_ecc_make_key_ex(&rng, 32, &stranger, ECC_SECP256R1), 0);
  const auto digest = digest_of(3);
  const auto signature = sign(*signer, digest);
  int valid = 1;  // checked, not merely refused: the signature parses and does not match
  EXPECT_EQ(wc_ecc_verify_hash(signature.data(), static_cast<word32>(signature.size()),
                               digest.data(), digest.size(), &valid, &stranger),
            0);
  EXPECT_EQ(valid, 0);
  wc_ecc_free(&stranger);
  wc_FreeRng(&rng);
}

TEST(P256SignerTest, FailsRatherThanTruncatesWhenTheOutputIsTooSmall) {
  auto signer = P256Signer::from_pem(loaded("mx-ecdsa").key_pem);
  ASSERT_TRUE(signer);
  std::array<unsigned char, 16> small{};
  EXPECT_EQ(signer->sign(digest_of(1), small), 0u);
}

// A P-384 private key in PEM, made by wolfSSL.
std::string p384_key_pem() {
  WC_RNG rng;
  wc_InitRng(&rng);
  ecc_key key;
  wc_ecc_init(&key);
  std::string pem;
  if (wc_ecc_make_key_ex(&rng, 48, &key, ECC_SECP384R1) == 0) {
    std::array<unsigned char, 512> der{};
    const int der_length = wc_EccKeyToDer(&key, der.data(), der.size());
    std::array<unsigned char, 1024> text{};
    const int pem_length = der_length > 0
                               ? wc_DerToPem(der.data(), static_cast<word32>(der_length),
                                             text.data(), text.size(), ECC_PRIVATEKEY_TYPE)
                               : -1;
    if (pem_length > 0) pem.assign(reinterpret_cast<const char*>(text.data()), pem_length);
  }
  wc_ecc_free(&key);
  wc_FreeRng(&rng);
  return pem;
}

TEST(P256SignerTest, LeavesRsaOtherCurvesAndGarbageToWolfssl) {
  EXPECT_FALSE(P256Signer::from_pem(loaded("other-rsa").key_pem));
  const auto p384 = p384_key_pem();
  ASSERT_NE(p384.find("BEGIN EC PRIVATE KEY"), std::string::npos);
  EXPECT_FALSE(P256Signer::from_pem(p384));
  EXPECT_FALSE(P256Signer::from_pem(loaded("mx-ecdsa").certificate_pem));
  EXPECT_FALSE(P256Signer::from_pem("-----BEGIN PRIVATE KEY-----\nnot base64\n"));
  EXPECT_FALSE(P256Signer::from_pem(""));
}

}  // namespace
}  // namespace mxring::engine::tls
