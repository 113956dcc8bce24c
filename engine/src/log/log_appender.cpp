#include "log_appender.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mxring::engine {
namespace {

constexpr std::size_t kAlignment = AlignedBuffer::kAlignment;

bool regular_file(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

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

// Keeps only the held lines not yet written.
void LogAppender::forget_written() {
  if (held_written_ == 0) return;
  std::memmove(held_.data(), held_.data() + held_written_, held_size_ - held_written_);
  held_size_ -= held_written_;
  held_written_ = 0;
}

void LogAppender::follow(int fd, int direct_fd) {
  // A direct write ends mid-line: what the previous file is owed goes to it first, so that
  // it ends with a whole line and the next one starts with one.
  settle();
  held_size_ = held_written_ = 0;
  fd_ = fd;
  direct_fd_ = direct_fd >= 0 && regular_file(fd) ? direct_fd : -1;
  if (direct_fd_ >= 0) {
    if (held_.capacity() == 0) held_ = AlignedBuffer(kDirectStep);
    start_at_file_end();
  } else {
    leave_direct_io();
  }
}

// The file ends where the last write left it: the held partial block is still its last.
bool LogAppender::in_place() const {
  struct stat st {};
  return fstat(fd_, &st) == 0 &&
         static_cast<std::uint64_t>(st.st_size) == block_start_ + held_written_;
}

// Takes up the file at its present end: lines held and not written stay, the file's partial
// last block is read back in front of them (its octets are rewritten, unchanged, by the next
// direct write).
void LogAppender::start_at_file_end() {
  forget_written();
  struct stat st {};
  if (fstat(fd_, &st) != 0) return leave_direct_io();
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const auto head = static_cast<std::size_t>(size % kAlignment);
  if (held_size_ + head > held_.capacity()) {
    // No room in front of the held lines: append them as they are, and start after them.
    if (!write_all(fd_, {held_.data(), held_size_})) return leave_direct_io();
    held_size_ = 0;
    return start_at_file_end();
  }
  block_start_ = size - head;
  if (head == 0) return;
  const AlignedBuffer block(kAlignment);
  ssize_t n;
  do n = pread(direct_fd_, block.data(), kAlignment, static_cast<off_t>(block_start_));
  while (n < 0 && errno == EINTR);
  if (n < static_cast<ssize_t>(head)) return leave_direct_io();
  std::memmove(held_.data() + head, held_.data(), held_size_);
  std::memcpy(held_.data(), block.data(), head);
  held_size_ += head;
  held_written_ = head;
}

void LogAppender::append(std::string_view lines) {
  if (direct_fd_ >= 0 && !in_place()) start_at_file_end();
  while (direct_fd_ >= 0 && !lines.empty()) {
    const std::size_t n = std::min(lines.size(), held_.capacity() - held_size_);
    std::memcpy(held_.data() + held_size_, lines.data(), n);
    held_size_ += n;
    lines.remove_prefix(n);
    if (held_size_ == held_.capacity()) write_whole_blocks();
  }
  if (lines.empty()) return;
  write_all(fd_, lines);
  pages_.appended(lines.size());
}

void LogAppender::settle() {
  if (direct_fd_ < 0) return;
  if (!in_place()) start_at_file_end();
  if (!write_whole_blocks()) return;
  if (held_size_ == held_written_) return;
  // The partial block through the page cache; the next direct write rewrites it. On an
  // error the lines are lost, as with any append, and the next check of the file's end
  // finds where it really is.
  write_all(fd_, {held_.data() + held_written_, held_size_ - held_written_});
  held_written_ = held_size_;
}

// False when direct I/O failed (the held lines then went out through the page cache).
bool LogAppender::write_whole_blocks() {
  if (direct_fd_ < 0) return false;
  const std::size_t whole = held_size_ / kAlignment * kAlignment;
  if (whole == 0) return true;
  ssize_t n;
  do n = pwrite(direct_fd_, held_.data(), whole, static_cast<off_t>(block_start_));
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(whole)) {
    // ENOSPC, EIO, or a file system that refuses this alignment after all: what did land
    // is in the file, the rest is appended the ordinary way from now on.
    if (n > 0) held_written_ = std::max(held_written_, static_cast<std::size_t>(n));
    leave_direct_io();
    return false;
  }
  std::memmove(held_.data(), held_.data() + whole, held_size_ - whole);
  held_size_ -= whole;
  block_start_ += whole;
  held_written_ = 0;
  return true;
}

// Plain appends from now on (until the next follow()): the lines held and not written first.
void LogAppender::leave_direct_io() {
  direct_fd_ = -1;
  pages_.follow(fd_);
  const std::string_view unwritten(held_.data() + held_written_, held_size_ - held_written_);
  if (!unwritten.empty()) {
    write_all(fd_, unwritten);
    pages_.appended(unwritten.size());
  }
  held_size_ = held_written_ = 0;
}

}  // namespace mxring::engine
