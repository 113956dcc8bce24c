// The live one-line progress of a long export on a terminal (standard error); silent
// when standard error is not a TTY.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace mxring::tools::spool {

class ProgressLine {
 public:
  ProgressLine(const char* what, std::uint64_t total_bytes)
      : what_(what), total_(total_bytes), enabled_(isatty(STDERR_FILENO) == 1) {}

  // `bytes` read from the spool so far; redraws at most four times a second.
  void update(std::uint64_t bytes, std::uint64_t messages) {
    if (!enabled_ || (++calls_ & 255) != 0) return;
    const auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    draw(bytes, messages, false);
  }

  void finish(std::uint64_t bytes, std::uint64_t messages) {
    if (enabled_) draw(bytes, messages, true);
  }

 private:
  using Clock = std::chrono::steady_clock;

  void draw(std::uint64_t bytes, std::uint64_t messages, bool last) const {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const double percent = total_ > 0 ? 100.0 * static_cast<double>(bytes) / total_ : 100.0;
    std::fprintf(stderr, "\r%s: %5.1f%%  %llu messages  %.1f MB  %.0f MB/s   %s", what_,
                 percent > 100 ? 100.0 : percent, static_cast<unsigned long long>(messages),
                 bytes / 1e6, seconds > 0 ? bytes / 1e6 / seconds : 0.0, last ? "\n" : "");
  }

  const char* what_;
  std::uint64_t total_;
  bool enabled_;
  std::uint64_t calls_ = 0;
  Clock::time_point start_ = Clock::now(), last_ = start_;
};

}  // namespace mxring::tools::spool
