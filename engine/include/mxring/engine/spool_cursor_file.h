// Saving and loading a SpoolCursor. The file is replaced atomically (write a temporary file,
// fsync, rename, fsync the directory), so a consumer killed at any moment finds either the
// old cursor or the new one, never a mix: it resumes at least once, with no gap.
//
// Cursors kept in <spool>/cursors/ are registered: retention never deletes a segment one of
// them has not read past (SPOOL-FORMAT.md §6).
#pragma once

#include <optional>
#include <string>

#include "mxring/engine/spool_stream.h"

namespace mxring::engine {

// A missing file is the empty cursor (read everything). Fails on an unreadable or malformed
// file, with the reason in `error`.
std::optional<SpoolCursor> load_cursor(const std::string& path, std::string& error);
bool save_cursor(const std::string& path, const SpoolCursor& cursor, std::string& error);

inline constexpr const char* kCursorDirectory = "cursors";

// Where the cursor called `name` lives: a name without '/' is registered in the spool, a
// path is used as given (and is not protected from retention).
std::string cursor_path(const std::string& spool_directory, const std::string& name);

}  // namespace mxring::engine
