// AVX-512BW kernels (CPUs without VBMI: Skylake-SP, Cascade Lake). The block is in
// avx512_block.h; plain() checks CRLF pairing and line-start dots with byte arithmetic.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels.h"

namespace {

#include "avx512_block.h"

using Block = Avx512Block<false>;

#include "plain_blocks.h"

}  // namespace

namespace mxring::parser::kernels {
const Kernels kAvx512 = {&plain_data_blocks, &find_line_break, nullptr, &content_masks};
}
