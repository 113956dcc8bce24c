// The whole of an open file into a string: the spool writer's recovery of its last segment
// and SpoolReader's segments read this way, one pread of what fstat says is there.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace mxring::engine {

// Replaces `data` with the octets of `fd` (its capacity is kept, for a caller reading many
// files): fewer than fstat said if the file shrank meanwhile, none if it cannot be read.
inline void read_whole(int fd, std::string& data) {
  data.clear();
  struct stat info {};
  if (fstat(fd, &info) != 0 || info.st_size <= 0) return;
  data.resize(static_cast<std::size_t>(info.st_size));
  std::size_t got = 0;
  while (got < data.size()) {
    const auto n = pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // shorter than it was a moment ago: what was read is what there is
    got += static_cast<std::size_t>(n);
  }
  data.resize(got);
}

}  // namespace mxring::engine
