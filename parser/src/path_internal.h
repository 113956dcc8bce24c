// The path grammar without the kernels' fast path (not installed): tests compare the two.
#pragma once

#include <cstddef>
#include <string_view>

#include "mxring/parser/path.h"

namespace mxring::parser::detail {

// parse_path_into's contract, decided by the scalar grammar alone.
std::size_t parse_path_grammar(std::string_view text, PathKind kind, Path& path);

}  // namespace mxring::parser::detail
