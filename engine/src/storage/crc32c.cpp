// CRC32C with the SSE4.2 instruction and a portable table fallback.
//
// One crc32 instruction takes 3 cycles before the next can use its result, but a new one can
// start every cycle: a single chain over the data runs at a third of what the unit can do.
// Long inputs are therefore cut into rounds of three equal blocks whose CRCs run as three
// independent chains, then are joined: the CRC register after A‖B‖C is
// reg(A)·x^(8·2n) ⊕ reg(B)·x^(8n) ⊕ reg(C) (mod P), each block n octets and B, C started
// from 0, because the register update is linear over GF(2). The multiplications by the fixed
// powers of x are one carry-less multiply each (PCLMULQDQ), reduced by a crc32 instruction.
#include "mxring/engine/crc32c.h"

#include <immintrin.h>

#include <array>
#include <cstring>

namespace mxring::engine {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;  // Castagnoli, bit-reflected

constexpr std::array<std::uint32_t, 256> kTable = [] {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ kPolynomial : c >> 1;
    table[i] = c;
  }
  return table;
}();

std::uint32_t crc32c_table(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  while (n--) crc = kTable[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

// Polynomials mod P in the reflected order of the CRC register: bit 31 is x^0, bit 0 x^31.
constexpr std::uint32_t multiply_mod_p(std::uint32_t a, std::uint32_t b) {
  std::uint32_t product = 0;
  for (std::uint32_t term = 1u << 31; term != 0; term >>= 1) {  // x^0, x^1, ... of a
    if (a & term) product ^= b;
    b = b & 1 ? (b >> 1) ^ kPolynomial : b >> 1;  // b·x
  }
  return product;
}

constexpr std::uint32_t x_to_the(std::uint64_t n) {
  std::uint32_t result = 1u << 31;  // x^0
  std::uint32_t square = 1u << 30;  // x^1, x^2, x^4, ...
  for (; n != 0; n >>= 1) {
    if (n & 1) result = multiply_mod_p(result, square);
    square = multiply_mod_p(square, square);
  }
  return result;
}

// A round of three `size`-octet blocks. Read as a reflected 64-bit value (bit 0 is x^63), the
// carry-less product of two reflected 32-bit values is their product times x, and crc32 of a
// 64-bit value from 0 multiplies it by x^32: so multiplying a register by x^(8·size) takes
// the constant x^(8·size - 33).
struct Round {
  std::size_t size;
  std::uint32_t shift_one;  // x^(8·size - 33)
  std::uint32_t shift_two;  // x^(8·2·size - 33)
};

constexpr Round round_of(std::size_t size) {
  return {size, x_to_the(8 * size - 33), x_to_the(16 * size - 33)};
}

// Largest first; what is left after the smallest (under 192 octets) goes through one chain.
constexpr std::array<Round, 4> kRounds = {round_of(4096), round_of(1024), round_of(256),
                                          round_of(64)};

inline std::uint64_t load64(const unsigned char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc,
                                                             const unsigned char* p,
                                                             std::size_t n) {
  std::uint64_t c = crc;
  for (; n >= 8; p += 8, n -= 8) c = _mm_crc32_u64(c, load64(p));
  auto c32 = static_cast<std::uint32_t>(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

__attribute__((target("sse4.2,pclmul"))) std::uint64_t shift(std::uint64_t crc,
                                                             std::uint32_t power) {
  const __m128i product = _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<long long>(crc)),
                                               _mm_cvtsi32_si128(static_cast<int>(power)), 0);
  return _mm_crc32_u64(0, static_cast<std::uint64_t>(_mm_cvtsi128_si64(product)));
}

__attribute__((target("sse4.2,pclmul"))) std::uint32_t crc32c_three_way(std::uint32_t crc,
                                                                        const unsigned char* p,
                                                                        std::size_t n) {
  std::uint64_t c0 = crc;
  for (const auto& round : kRounds) {
    while (n >= 3 * round.size) {
      std::uint64_t c1 = 0, c2 = 0;
      const unsigned char* const end = p + round.size;
      for (; p < end; p += 8) {
        c0 = _mm_crc32_u64(c0, load64(p));
        c1 = _mm_crc32_u64(c1, load64(p + round.size));
        c2 = _mm_crc32_u64(c2, load64(p + 2 * round.size));
      }
      c0 = shift(c0, round.shift_two) ^ shift(c1, round.shift_one) ^ c2;
      p += 2 * round.size;
      n -= 3 * round.size;
    }
  }
  return crc32c_sse42(static_cast<std::uint32_t>(c0), p, n);
}

enum class Unit { table, sse42, three_way };

const Unit kUnit = __builtin_cpu_supports("sse4.2")
                       ? (__builtin_cpu_supports("pclmul") ? Unit::three_way : Unit::sse42)
                       : Unit::table;

}  // namespace

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  switch (kUnit) {
    case Unit::three_way:
      crc = crc32c_three_way(crc, p, size);
      break;
    case Unit::sse42:
      crc = crc32c_sse42(crc, p, size);
      break;
    case Unit::table:
      crc = crc32c_table(crc, p, size);
      break;
  }
  return ~crc;
}

}  // namespace mxring::engine
