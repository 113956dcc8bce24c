// The cursor a consumer (tail, forward) starts from.
#include <filesystem>

#include "mxring/engine/spool_cursor_file.h"
#include "spool_subcommands.h"

namespace mxring::tools::spool {

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
