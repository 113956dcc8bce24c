// Spool directory traversal and record scanning.
#include "mxring/engine/spool_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "mxring/engine/spool_stream.h"
#include "segment_window.h"

namespace mxring::engine {
namespace {

bool last_of_its_writer(const std::vector<std::string>& paths, std::size_t i) {
  namespace fs = std::filesystem;
  return i + 1 == paths.size() ||
         fs::path(paths[i + 1]).parent_path() != fs::path(paths[i]).parent_path();
}

// Reads segment `paths[i]` through a window and hands each record it finds (its CRC checked
// if `check_crc`) to `more`, with the window, until `more` returns false. Damage, or a torn
// tail, that stops the walk is added to `problems`. An unreadable segment reads as empty.
template <typename More>
void walk_segment(const std::vector<std::string>& paths, std::size_t i, bool check_crc,
                  std::vector<SpoolProblem>& problems, More more) {
  const int fd = ::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  SegmentWindow segment(fd);
  const auto size = segment.file_size();
  for (std::uint64_t offset = 0;;) {
    const auto parsed = segment.parse(offset, size, check_crc);
    if (parsed.status == spool::ParseStatus::end) break;
    if (parsed.status != spool::ParseStatus::ok) {
      problems.push_back({paths[i], offset, parsed.status, last_of_its_writer(paths, i)});
      break;
    }
    if (!more(parsed, segment)) break;
    offset = parsed.next;
  }
  ::close(fd);
}

}  // namespace

std::vector<std::string> SpoolReader::segments() const {
  std::vector<std::string> paths;
  for (const auto writer : spool_writers(directory_)) {
    const auto directory = directory_ + "/" + std::to_string(writer);
    for (const auto sequence : segment_sequences(directory))
      paths.push_back(segment_path(directory, sequence));
  }
  return paths;
}

std::vector<SpoolProblem> SpoolReader::scan(
    const std::function<void(const SpoolRecord&)>& visit) const {
  std::vector<SpoolProblem> problems;
  const auto paths = segments();
  for (std::size_t i = 0; i < paths.size(); ++i)
    walk_segment(paths, i, true, problems, [&](const spool::ParseResult& r, const SegmentWindow&) {
      visit({paths[i], r.start, r.record});
      return true;
    });
  return problems;
}

bool SpoolReader::find(std::string_view id, const std::function<void(const SpoolRecord&)>& visit,
                       std::vector<SpoolProblem>& problems) const {
  const auto paths = segments();
  std::vector<std::pair<std::int64_t, std::size_t>> newest_first;  // (-mtime in ns, index)
  for (std::size_t i = 0; i < paths.size(); ++i) {
    struct stat info {};
    const auto mtime =
        stat(paths[i].c_str(), &info) == 0
            ? std::int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec
            : 0;
    newest_first.emplace_back(-mtime, i);
  }
  std::sort(newest_first.begin(), newest_first.end());
  for (const auto& entry : newest_first) {
    const auto i = entry.second;
    std::optional<bool> found;  // set once the id is seen: whether its CRC was good
    walk_segment(paths, i, false, problems,
                 [&](const spool::ParseResult& r, const SegmentWindow& segment) {
                   if (r.record.header.queue_id.view() != id) return true;
                   found = segment.crc_matches(r);
                   if (*found)
                     visit({paths[i], r.start, r.record});
                   else
                     problems.push_back({paths[i], r.start, spool::ParseStatus::corrupt, false});
                   return false;
                 });
    if (found) return *found;
  }
  return false;
}

}  // namespace mxring::engine
