// Cursor file: "mxring-cursor 1" then one line per writer: "<writer> <sequence> <offset>",
// all decimal.
#include "mxring/engine/spool_cursor_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "sync_directory.h"

namespace mxring::engine {
namespace {

constexpr std::string_view kFirstLine = "mxring-cursor 1";

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// A decimal number at `at` (digits only: an istream would read "-1" as the largest value,
// and a cursor past every segment lets retention delete them all), then `separator`, or the
// end of the line for '\0'.
template <typename Number>
bool take_number(const char*& at, const char* end, char separator, Number& value) {
  if (at == end || *at < '0' || *at > '9') return false;
  const auto [next, error] = std::from_chars(at, end, value);
  if (error != std::errc()) return false;
  if (separator == '\0') return next == end;
  if (next == end || *next != separator) return false;
  at = next + 1;
  return true;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::optional<SpoolCursor> load_cursor(const std::string& path, std::string& error) {
  std::ifstream file(path);
  if (!file) {
    if (errno == ENOENT) return SpoolCursor{};
    error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string line;
  if (!std::getline(file, line) || line != kFirstLine) {
    error = path + " is not an mxring cursor file";
    return std::nullopt;
  }
  SpoolCursor cursor;
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    unsigned writer = 0;
    SpoolPosition position;
    const char* at = line.data();
    const char* const end = line.data() + line.size();
    if (!take_number(at, end, ' ', writer) || !take_number(at, end, ' ', position.sequence) ||
        !take_number(at, end, '\0', position.offset)) {
      error = path + ": malformed line \"" + line + "\"";
      return std::nullopt;
    }
    cursor[writer] = position;
  }
  return cursor;
}

bool save_cursor(const std::string& path, const SpoolCursor& cursor, std::string& error) {
  std::string text(kFirstLine);
  text += '\n';
  for (const auto& [writer, position] : cursor)
    text += std::to_string(writer) + ' ' + std::to_string(position.sequence) + ' ' +
            std::to_string(position.offset) + '\n';
  const auto temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  bool ok = fd >= 0 && write_all(fd, text) && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  ok = ok && rename(temporary.c_str(), path.c_str()) == 0;
  ok = ok && sync_directory(parent_of(path));
  if (!ok) error = "cannot save the cursor " + path + ": " + std::strerror(errno);
  return ok;
}

std::string cursor_path(const std::string& spool_directory, const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  return spool_directory + "/" + kCursorDirectory + "/" + name;
}

}  // namespace mxring::engine
