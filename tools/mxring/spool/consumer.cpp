// What the long-running consumers (tail, forward) share: the cursor they start from, and
// stopping at a record boundary on SIGINT/SIGTERM.
#include <signal.h>

#include <filesystem>
#include <thread>

#include "mxring/engine/spool_cursor_file.h"
#include "spool_subcommands.h"

namespace mxring::tools::spool {
namespace {

volatile sig_atomic_t stop_flag = 0;

void request_stop(int) {
  stop_flag = 1;
}

}  // namespace

void stop_on_signals() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() {
  return stop_flag != 0;
}

void pause_unless_stopping(std::chrono::milliseconds duration) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (!stop_requested() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::min(duration, std::chrono::milliseconds(10)));
}

std::optional<engine::SpoolCursor> open_consumer_cursor(const std::string& directory,
                                                        const std::string& name, std::string& path,
                                                        std::string& error) {
  path = engine::cursor_path(directory, name);
  if (path != name) {
    std::error_code ignored;
    std::filesystem::create_directories(directory + "/" + engine::kCursorDirectory, ignored);
  }
  const bool exists = std::filesystem::exists(path);
  auto cursor = engine::load_cursor(path, error);
  // Saved at once, so a consumer is registered (and retention waits for it) from its first
  // start, not from its first hand-over.
  if (cursor && !exists && !engine::save_cursor(path, *cursor, error)) return std::nullopt;
  return cursor;
}

}  // namespace mxring::tools::spool
