#include "log_appender.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "page_cache.h"

namespace mxring::engine {
namespace {

constexpr std::size_t kAlignment = AlignedBuffer::kAlignment;

}  // namespace

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void LogAppender::follow(int fd, int direct_fd) {
  settle();  // the previous file gets its lines before the next one gets any
  held_size_ = 0;
  fd_ = fd;
  direct_fd_ = direct_fd >= 0 && regular_file(fd) ? direct_fd : -1;
  if (direct_fd_ < 0) {
    pages_.follow(fd);
    return;
  }
  if (held_.capacity() == 0) held_ = AlignedBuffer(kAlignment + kDirectStep);
  file_end_ = 0;
  if (!take_up_file_end()) return leave_direct_io();
  // What the file held before is left as it is.
  dropped_to_ = previous_direct_start_ = file_end_;
}

// Where the file ends now: where the last write left it, unless someone else changed it
// (copytruncate, another appender). The held octets are placed for that end.
bool LogAppender::take_up_file_end() {
  struct stat st {};
  if (fstat(fd_, &st) != 0) return false;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size != file_end_) {
    file_end_ = size;
    dropped_to_ = std::min(dropped_to_, size);
    previous_direct_start_ = std::min(previous_direct_start_, size);
  }
  const std::size_t start = size % kAlignment;
  if (start != held_start_) {
    std::memmove(held_.data() + start, held_.data() + held_start_, held_size_);
    held_start_ = start;
  }
  return true;
}

void LogAppender::append(std::string_view lines) {
  while (direct_fd_ >= 0 && !lines.empty()) {
    const std::size_t n =
        std::min(lines.size(), held_size_ < kDirectStep ? kDirectStep - held_size_ : 0);
    std::memcpy(held_.data() + held_start_ + held_size_, lines.data(), n);
    held_size_ += n;
    lines.remove_prefix(n);
    if (held_size_ >= kDirectStep) write_out(false);
  }
  if (lines.empty()) return;
  write_all(fd_, lines);
  pages_.appended(lines.size());
}

void LogAppender::settle() {
  if (direct_fd_ >= 0 && held_size_ > 0) write_out(true);
}

// Appends what is held, up to its last line end (`everything`: all of it): up to the file's
// next block boundary through the page cache, the whole blocks after it direct, the rest
// through the page cache.
void LogAppender::write_out(bool everything) {
  if (!take_up_file_end()) return leave_direct_io();
  const std::string_view held(held_.data() + held_start_, held_size_);
  const auto last_end = held.rfind('\n');
  // Up to the last line end; all of it at a settle, or when a step holds no line end at all.
  const bool all = everything || (last_end == std::string_view::npos && held.size() >= kDirectStep);
  const std::size_t lines_end = all                                  ? held.size()
                                : last_end == std::string_view::npos ? 0
                                                                     : last_end + 1;
  std::size_t done = 0;
  const auto buffered = [&](std::size_t n) {
    // On an error the lines are lost, as with any append; the next write finds the file's
    // real end.
    if (n > 0 && write_all(fd_, held.substr(done, n))) file_end_ += n;
    done += n;
  };
  buffered(std::min(lines_end, (kAlignment - held_start_) % kAlignment));
  const std::size_t whole = (lines_end - done) / kAlignment * kAlignment;
  if (whole > 0) {
    const std::uint64_t direct_start = file_end_;
    ssize_t n;
    do n = ::write(direct_fd_, held.data() + done, whole);
    while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(whole)) {
      file_end_ += whole;
      done += whole;
      // The pages the buffered appends left: advised away once, which starts their
      // writeback, and again a step later, when they are clean and go.
      drop_cached_pages(fd_, dropped_to_, direct_start);
      dropped_to_ = std::max(dropped_to_, previous_direct_start_);
      previous_direct_start_ = direct_start;
    } else {
      // EINVAL: the file's end moved off a block boundary (another appender) since it was
      // read, and the page cache takes these lines. Anything else (ENOSPC, EIO): what did
      // land is in the file, and the rest goes through the page cache from now on.
      if (n > 0) {
        file_end_ += static_cast<std::uint64_t>(n);
        done += static_cast<std::size_t>(n);
      }
      if (!(n < 0 && errno == EINVAL)) return leave_direct_io(done);
    }
  }
  buffered(lines_end - done);
  // What is left (the start of a line), placed for where the file now ends.
  const std::size_t start = file_end_ % kAlignment;
  std::memmove(held_.data() + start, held.data() + done, held.size() - done);
  held_start_ = start;
  held_size_ -= done;
}

// Plain appends from now on (until the next follow()): the held octets past the first
// `written` first.
void LogAppender::leave_direct_io(std::size_t written) {
  direct_fd_ = -1;
  pages_.follow(fd_);
  if (held_size_ > written) {
    write_all(fd_, {held_.data() + held_start_ + written, held_size_ - written});
    pages_.appended(held_size_ - written);
  }
  held_size_ = 0;
}

}  // namespace mxring::engine
