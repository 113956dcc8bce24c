// The command grammar (command_grammar.inc) built for AVX-512 VBMI, with the plain-mailbox
// kernel (kernels/mailbox_vbmi.h) inlined where MAIL and RCPT read their path, and the
// 216-octet result cleared with 64-octet stores. Against the portable copy calling the kernel
// through a pointer: 0.93 of the time for the typical MAIL line (bench/micro/RESULTS.md).
//
// Only the grammar and the kernel are inside the target region. The standard library and the
// helper headers are included before it, so none of their inline functions is compiled for
// VBMI here: the linker keeps one copy of each for the whole program, and it must run on any
// x86-64. parse_command_for() chooses this copy only after CPUID reported VBMI.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "atext.h"
#include "char_class.h"
#include "command_internal.h"
#include "kernels/kernels.h"
#include "mxring/parser/text.h"
#include "path_internal.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vbmi,avx2,bmi,bmi2"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vbmi,avx2,bmi,bmi2")
#endif

namespace mxring::parser::detail::vbmi {
namespace {

#include "kernels/mailbox_vbmi.h"

// parse_path_fast with the kernel inlined: `<local@domain>` in one block when the kernel vouches
// for it; the grammar decides the rest, errors included.
std::size_t read_path(std::string_view text, PathKind kind, Path& path) {
  if (text.size() > 1 && text[0] == '<') {
    const auto split = plain_mailbox(text.data() + 1, text.size() - 1);
    if (split.end != 0) return take_plain_mailbox(text, split, path);
  }
  return parse_path_grammar(text, kind, path);
}

}  // namespace

#include "command_grammar.inc"

}  // namespace mxring::parser::detail::vbmi

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
