// AVX-512 VBMI kernels (Ice Lake, Zen 4 and later): the AVX-512 block of avx512_block.h with a
// table lookup (vpermi2b) classifying every octet of a block in one instruction.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "atext.h"
#include "kernels.h"

namespace {

#include "avx512_block.h"

using Block = Avx512Block<true>;

#include "mailbox_vbmi.h"
#include "plain_blocks.h"

}  // namespace

namespace mxring::parser::kernels {
const Kernels kAvx512Vbmi = {&plain_data_blocks, &find_line_break, &plain_mailbox, &content_masks};
}
