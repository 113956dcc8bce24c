// Spool directory traversal and record scanning.
#include "mxring/engine/spool_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "mxring/engine/spool_stream.h"
#include "read_whole.h"

namespace mxring::engine {
namespace {

// The whole of the segment at `path` into `data` (whose capacity is kept from one segment to
// the next): one copy, from the page cache. An unreadable segment reads as empty.
void read_segment(const std::string& path, std::string& data) {
  data.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  read_whole(fd, data);
  ::close(fd);
}

bool last_of_its_writer(const std::vector<std::string>& paths, std::size_t i) {
  namespace fs = std::filesystem;
  return i + 1 == paths.size() ||
         fs::path(paths[i + 1]).parent_path() != fs::path(paths[i]).parent_path();
}

// Reads segment `paths[i]` into `data` and hands each record `parse` finds in it to `more`
// until `more` returns false. Damage, or a torn tail, that stops the walk is added to
// `problems`.
template <typename Parse, typename More>
void walk_segment(const std::vector<std::string>& paths, std::size_t i, std::string& data,
                  Parse parse, std::vector<SpoolProblem>& problems, More more) {
  read_segment(paths[i], data);
  for (std::size_t offset = 0;;) {
    const auto parsed = parse(data, offset);
    if (parsed.status == spool::ParseStatus::end) return;
    if (parsed.status != spool::ParseStatus::ok) {
      problems.push_back({paths[i], offset, parsed.status, last_of_its_writer(paths, i)});
      return;
    }
    if (!more(parsed)) return;
    offset = parsed.next;
  }
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
  std::string data;
  for (std::size_t i = 0; i < paths.size(); ++i)
    walk_segment(paths, i, data, spool::parse_record, problems, [&](const spool::ParseResult& r) {
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
  std::string data;
  for (const auto& entry : newest_first) {
    const auto i = entry.second;
    std::optional<bool> found;  // set once the id is seen: whether its CRC was good
    walk_segment(paths, i, data, spool::parse_record_unchecked, problems,
                 [&](const spool::ParseResult& r) {
                   if (r.record.header.queue_id.view() != id) return true;
                   found = spool::record_crc_matches(data, r);
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
