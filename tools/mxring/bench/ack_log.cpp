#include "ack_log.h"

#include <wolfssl/options.h>
// options.h first
#include <wolfssl/wolfcrypt/sha256.h>

namespace mxring::tools::bench {
namespace {

std::string sha256_hex(std::string_view a, std::string_view b) {
  wc_Sha256 sha;
  wc_InitSha256(&sha);
  wc_Sha256Update(&sha, reinterpret_cast<const byte*>(a.data()), static_cast<word32>(a.size()));
  wc_Sha256Update(&sha, reinterpret_cast<const byte*>(b.data()), static_cast<word32>(b.size()));
  byte digest[WC_SHA256_DIGEST_SIZE];
  wc_Sha256Final(&sha, digest);
  wc_Sha256Free(&sha);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (byte d : digest) {
    hex += kHex[d >> 4];
    hex += kHex[d & 15];
  }
  return hex;
}

}  // namespace

std::string_view queue_id_of(std::string_view reply) {
  if (const auto as = reply.find(" as "); as != std::string_view::npos)
    return reply.substr(as + 4, reply.find(' ', as + 4) - (as + 4));
  return reply.substr(reply.rfind(' ') + 1);
}

bool AckLog::open(const std::string& path, std::string& error) {
  out_.open(path, std::ios::trunc);
  if (out_) return true;
  error = "cannot write " + path;
  return false;
}

void AckLog::record(std::string_view reply, std::string_view header, std::string_view message) {
  out_ << queue_id_of(reply) << ' ' << sha256_hex(header, message) << '\n';
}

}  // namespace mxring::tools::bench
