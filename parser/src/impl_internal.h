// Glue between the public scanners and the kernel tables (not installed).
#pragma once

#include "kernels/kernels.h"
#include "mxring/parser/impl.h"

namespace mxring::parser::detail {

const kernels::Kernels& kernels_for(Impl impl);
void count_scan(Impl impl);

}  // namespace mxring::parser::detail
