// Retention by segment age (the file's modification time, i.e. its last append) and by the
// registered cursors in <spool>/cursors/.
#include "mxring/engine/spool_retention.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <map>

#include "mxring/engine/spool_cursor_file.h"
#include "mxring/engine/spool_stream.h"

namespace mxring::engine {
namespace {

std::map<std::string, SpoolCursor> registered_cursors(const std::string& spool,
                                                      RetentionReport& report, bool& readable) {
  std::map<std::string, SpoolCursor> cursors;
  const auto directory = spool + "/" + kCursorDirectory;
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) return cursors;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.starts_with(".") || name.ends_with(".tmp")) continue;
    std::string error;
    if (auto cursor = load_cursor(directory + "/" + name, error)) {
      cursors[name] = std::move(*cursor);
    } else {
      report.errors.push_back(error);
      readable = false;
    }
  }
  closedir(dir);
  return cursors;
}

}  // namespace

RetentionReport apply_retention(const std::string& spool_directory, std::int64_t max_age_s,
                                std::optional<unsigned> writer, bool dry_run) {
  RetentionReport report;
  bool cursors_readable = true;
  const auto cursors = registered_cursors(spool_directory, report, cursors_readable);
  if (!cursors_readable) return report;  // an unreadable cursor might need anything
  // The fine clock, not time(2): that returns the seconds of the last timer tick, while a
  // file's modification time may come from the fine clock (Linux 6.13's multigrain
  // timestamps), so a segment appended a moment ago could seem to come from the future.
  timespec clock{};
  clock_gettime(CLOCK_REALTIME, &clock);
  const auto now = clock.tv_sec;
  const auto writers = writer ? std::vector<unsigned>{*writer} : spool_writers(spool_directory);
  for (const auto w : writers) {
    const auto directory = spool_directory + "/" + std::to_string(w);
    const auto sequences = segment_sequences(directory);
    for (std::size_t i = 0; i + 1 < sequences.size(); ++i) {  // never the last one
      const auto path = segment_path(directory, sequences[i]);
      struct stat info {};
      if (stat(path.c_str(), &info) != 0 || now - info.st_mtime < max_age_s) continue;
      bool held = false;
      for (const auto& [name, cursor] : cursors) {
        const auto at = cursor.find(w);
        if (at == cursor.end() || at->second.sequence <= sequences[i]) {
          report.held.push_back(path + " held by cursor " + name);
          held = true;
        }
      }
      if (held) continue;
      if (dry_run || unlink(path.c_str()) == 0) {
        report.deleted.push_back(path);
        report.bytes_deleted += static_cast<std::uint64_t>(info.st_size);
      }
    }
  }
  return report;
}

}  // namespace mxring::engine
