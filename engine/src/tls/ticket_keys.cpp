#include "ticket_keys.h"

#include <sys/random.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

namespace mxring::engine::tls {
namespace {

void random_bytes(unsigned char* out, std::size_t n) {
  while (n > 0) {
    const auto got = getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    out += got;
    n -= static_cast<std::size_t>(got);
  }
}

// What the tag covers besides the ticket: its key name, its IV and its length.
std::array<unsigned char, WOLFSSL_TICKET_NAME_SZ + WOLFSSL_TICKET_IV_SZ + 4> associated_data(
    const unsigned char* name, const unsigned char* iv, int length) {
  std::array<unsigned char, WOLFSSL_TICKET_NAME_SZ + WOLFSSL_TICKET_IV_SZ + 4> aad{};
  std::memcpy(aad.data(), name, WOLFSSL_TICKET_NAME_SZ);
  std::memcpy(aad.data() + WOLFSSL_TICKET_NAME_SZ, iv, WOLFSSL_TICKET_IV_SZ);
  const auto n = static_cast<std::uint32_t>(length);
  for (int i = 0; i < 4; ++i)
    aad[WOLFSSL_TICKET_NAME_SZ + WOLFSSL_TICKET_IV_SZ + static_cast<std::size_t>(i)] =
        static_cast<unsigned char>(n >> (8 * i));
  return aad;
}

}  // namespace

void initialise_library() {
  static std::once_flag once;
  std::call_once(once, [] { wolfSSL_Init(); });
}

void release_thread_state() {
#ifdef FP_ECC
  wc_ecc_fp_free();
#endif
}

TicketKeys::TicketKeys() {
  random_bytes(name_.data(), name_.size());
  random_bytes(key_.data(), key_.size());
}

int TicketKeys::seal_or_open(WOLFSSL*, unsigned char key_name[WOLFSSL_TICKET_NAME_SZ],
                             unsigned char iv[WOLFSSL_TICKET_IV_SZ],
                             unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int encrypt,
                             unsigned char* ticket, int length, int* out_length, void* user) {
  const auto& keys = *static_cast<const TicketKeys*>(user);
  if (length < 0) return WOLFSSL_TICKET_RET_FATAL;
  const auto size = static_cast<word32>(length);
  if (encrypt) {
    std::memcpy(key_name, keys.name_.data(), keys.name_.size());
    try {
      random_bytes(iv, WOLFSSL_TICKET_IV_SZ);
    } catch (const std::exception&) {
      return WOLFSSL_TICKET_RET_FATAL;
    }
    const auto aad = associated_data(key_name, iv, length);
    if (wc_ChaCha20Poly1305_Encrypt(keys.key_.data(), iv, aad.data(),
                                    static_cast<word32>(aad.size()), ticket, size, ticket,
                                    mac) != 0)
      return WOLFSSL_TICKET_RET_FATAL;
    *out_length = length;
    return WOLFSSL_TICKET_RET_OK;
  }
  // A ticket sealed under another key (an earlier process): a full handshake, not an error.
  if (std::memcmp(key_name, keys.name_.data(), keys.name_.size()) != 0)
    return WOLFSSL_TICKET_RET_REJECT;
  const auto aad = associated_data(key_name, iv, length);
  if (wc_ChaCha20Poly1305_Decrypt(keys.key_.data(), iv, aad.data(), static_cast<word32>(aad.size()),
                                  ticket, size, mac, ticket) != 0)
    return WOLFSSL_TICKET_RET_REJECT;
  *out_length = length;
  return WOLFSSL_TICKET_RET_OK;
}

}  // namespace mxring::engine::tls
