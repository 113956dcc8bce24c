#include "written_pages.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "page_cache.h"

namespace mxring::engine {

bool regular_file(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

void WrittenPages::follow(int fd) {
  fd_ = regular_file(fd) ? fd : -1;
  const off_t end = fd_ < 0 ? 0 : lseek(fd_, 0, SEEK_END);
  // What the file held before is left as it is.
  started_to_ = dropped_to_ = end > 0 ? static_cast<std::uint64_t>(end) : 0;
}

void WrittenPages::appended(std::uint64_t length) {
  if (fd_ < 0 || length == 0) return;
  // O_APPEND: the offset is the file's end (another process appending to the same file only
  // makes the advice a little off).
  const off_t offset = lseek(fd_, 0, SEEK_CUR);
  if (offset < 0 || static_cast<std::uint64_t>(offset) < length) return;
  const auto end = static_cast<std::uint64_t>(offset);
  const auto start = end - length;
  if (start < started_to_) started_to_ = dropped_to_ = start;  // cut (copytruncate)
  if (end - started_to_ < step_) return;
  // The previous step was queued for writeback a step ago: waiting for it now rarely waits,
  // and the log's writer thread is the one that may wait.
  if (started_to_ > dropped_to_) {
    sync_file_range(
        fd_, static_cast<off_t>(dropped_to_), static_cast<off_t>(started_to_ - dropped_to_),
        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    // Whole pages only: the partial page at the end is shared with this step, and is
    // dropped with it next time.
    dropped_to_ = drop_cached_pages(fd_, dropped_to_, started_to_);
  }
  sync_file_range(fd_, static_cast<off_t>(started_to_), static_cast<off_t>(end - started_to_),
                  SYNC_FILE_RANGE_WRITE);
  started_to_ = end;
}

}  // namespace mxring::engine
