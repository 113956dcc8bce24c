// Which pages of a file are in the page cache, read with mincore(2), which faults nothing in:
// for the tests of what the log and spool writers drop from the cache.
#pragma once

#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstddef>
#include <vector>

namespace mxring::engine {

inline std::size_t page_size() {
  return static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// Whether `path` lies on a file system held in memory (tmpfs, ramfs), whose pages are the
// files themselves and cannot be dropped.
inline bool in_memory_file_system(const char* path) {
  struct statfs fs {};
  EXPECT_EQ(statfs(path, &fs), 0) << path;
  return fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
}

// One flag per page of the file's first `length` octets.
inline std::vector<bool> resident_pages(int fd, std::size_t length) {
  void* map = mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  EXPECT_NE(map, MAP_FAILED);
  if (map == MAP_FAILED) return {};
  std::vector<unsigned char> in((length + page_size() - 1) / page_size());
  EXPECT_EQ(mincore(map, length, in.data()), 0);
  munmap(map, length);
  return {in.begin(), in.end()};
}

}  // namespace mxring::engine
