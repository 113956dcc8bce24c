// Resuming a vectored write after a short one, shared by the spool and maildir writers.
#pragma once

#include <sys/uio.h>

#include <cstddef>

namespace mxring::engine {

// Moves `index` past the `written` octets of iov[index..count): whole entries are skipped,
// a partly written one is trimmed to what is left.
inline void advance_iovecs(iovec* iov, std::size_t count, std::size_t& index, std::size_t written) {
  while (index < count && written >= iov[index].iov_len) written -= iov[index++].iov_len;
  if (written > 0 && index < count) {
    iov[index].iov_base = static_cast<char*>(iov[index].iov_base) + written;
    iov[index].iov_len -= written;
  }
}

}  // namespace mxring::engine
