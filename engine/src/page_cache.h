// Dropping a file's clean pages from the page cache. The log writer (log/written_pages) and
// the spool writer (storage/spool_writer) both keep their files' cached footprint bounded
// this way, so the pages they write next are reused ones, not fresh memory.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>

namespace mxring::engine {

// Drops the whole pages of [from, to): `to` is rounded down to a page, so a partial last page
// stays cached. Returns where the dropped pages end (`from` when there was no whole page).
// Advice only: dirty pages stay, and a failure changes nothing about the file.
inline std::uint64_t drop_cached_pages(int fd, std::uint64_t from, std::uint64_t to) {
  static const auto page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  const std::uint64_t whole = to / page * page;
  if (whole <= from) return from;
  posix_fadvise(fd, static_cast<off_t>(from), static_cast<off_t>(whole - from),
                POSIX_FADV_DONTNEED);
  return whole;
}

}  // namespace mxring::engine
