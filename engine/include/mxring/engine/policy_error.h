// Why a policy file (--users, --client-access) was refused, and where.
#pragma once

#include <cstddef>
#include <string>

namespace mxring::engine {

struct PolicyError {
  std::size_t line = 0;  // 1-based line of the file, 0 for other errors
  std::string message;
};

}  // namespace mxring::engine
