// SpoolStream: per writer, the segment at the cursor is read through a SegmentWindow, up to the
// writer's commit point.
#include "mxring/engine/spool_stream.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>

#include "commit_marker.h"
#include "segment_window.h"

namespace mxring::engine {
namespace {

// A writer's directory is named by its number as std::to_string writes it: "01" or "1x" is
// some other directory, and taking "01" for writer 1 would read that writer twice.
std::optional<unsigned> writer_number(std::string_view name) {
  if (name.empty() || name.size() > 5 || (name.size() > 1 && name[0] == '0')) return std::nullopt;
  unsigned number = 0;
  for (const char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<unsigned>(c - '0');
  }
  return number;
}

// A segment is named by its sequence as segment_path writes it: sixteen lower-case hexadecimal
// digits, then ".seg". strtoull alone would also take a sign, blanks or upper case, and
// segment_path would then name another file (the sequence of "-000000000000001.seg" is
// ffffffffffffffff), read twice or numbered on from.
std::optional<std::uint64_t> segment_sequence(std::string_view name) {
  if (name.size() != 20 || !name.ends_with(".seg")) return std::nullopt;
  std::uint64_t sequence = 0;
  for (const char c : name.substr(0, 16)) {
    const bool digit = c >= '0' && c <= '9', letter = c >= 'a' && c <= 'f';
    if (!digit && !letter) return std::nullopt;
    sequence = sequence << 4 | static_cast<std::uint64_t>(digit ? c - '0' : c - 'a' + 10);
  }
  return sequence;
}

}  // namespace

std::vector<std::uint64_t> segment_sequences(const std::string& writer_directory) {
  std::vector<std::uint64_t> sequences;
  DIR* dir = opendir(writer_directory.c_str());
  if (dir == nullptr) return sequences;
  while (const dirent* entry = readdir(dir))
    if (const auto sequence = segment_sequence(entry->d_name)) sequences.push_back(*sequence);
  closedir(dir);
  std::sort(sequences.begin(), sequences.end());
  return sequences;
}

std::string segment_path(const std::string& writer_directory, std::uint64_t sequence) {
  char name[32];
  std::snprintf(name, sizeof name, "/%016llx.seg", static_cast<unsigned long long>(sequence));
  return writer_directory + name;
}

std::vector<unsigned> spool_writers(const std::string& directory) {
  std::vector<unsigned> writers;
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) return writers;
  while (const dirent* entry = readdir(dir))
    if (const auto writer = writer_number(entry->d_name)) writers.push_back(*writer);
  closedir(dir);
  std::sort(writers.begin(), writers.end());
  return writers;
}

// The open segment of one writer and a window of its octets.
struct SpoolStream::Segment {
  const std::uint64_t sequence;
  const std::string path;
  const int fd;  // -1: the segment could not be opened
  SegmentWindow window;

  Segment(std::uint64_t number, std::string file)
      : sequence(number),
        path(std::move(file)),
        fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)),
        window(fd) {}
  ~Segment() {
    if (fd >= 0) close(fd);
  }
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
};

SpoolStream::SpoolStream(std::string directory, SpoolCursor cursor)
    : directory_(std::move(directory)), cursor_(std::move(cursor)) {}

SpoolStream::~SpoolStream() = default;

std::vector<SpoolProblem> SpoolStream::take_problems() {
  return std::exchange(problems_, {});
}

std::size_t SpoolStream::poll(const std::function<bool(const StreamedRecord&)>& visit) {
  std::size_t accepted = 0;
  for (const auto writer : spool_writers(directory_))
    if (!stopped_[writer] && !read_writer(writer, visit, accepted)) break;
  return accepted;
}

bool SpoolStream::read_writer(unsigned writer,
                              const std::function<bool(const StreamedRecord&)>& visit,
                              std::size_t& accepted) {
  const auto directory = directory_ + "/" + std::to_string(writer);
  // The commit point first: segments listed after it cover everything it points into.
  auto commit = read_commit_point(directory);
  const auto sequences = segment_sequences(directory);
  if (sequences.empty()) return true;
  if (commit) commit->sequence = full_sequence(commit->sequence, sequences.back());
  auto& position = cursor_[writer];
  auto& segment = open_[writer];
  for (;;) {
    const auto here = std::lower_bound(sequences.begin(), sequences.end(), position.sequence);
    if (here == sequences.end()) return true;  // not created yet
    if (*here != position.sequence) {
      if (position.sequence != 0)
        problems_.push_back({segment_path(directory, position.sequence), position.offset,
                             spool::ParseStatus::end, false, true});
      position = {*here, 0};
    }
    const bool has_next = here + 1 != sequences.end();
    if (!segment || segment->sequence != position.sequence) {
      segment =
          std::make_unique<Segment>(position.sequence, segment_path(directory, position.sequence));
      if (segment->fd < 0) return true;  // deleted under us: the next poll sees the gap
    }
    // A segment the writer has moved past, or any segment when no writer runs, is final.
    const bool final = !commit || commit->sequence > position.sequence;
    const std::uint64_t limit = final ? segment->window.file_size()
                                : commit->sequence == position.sequence ? commit->offset
                                                                        : 0;
    while (position.offset < limit) {
      const auto offset = position.offset;
      auto& window = segment->window;
      if (!window.cover(offset, 1, limit)) break;
      if (*window.at(offset) == '\0') {  // padding, up to the commit point a writer published
        position.offset = spool::after_padding(offset, limit);
        continue;
      }
      const auto parsed = window.parse(offset, limit);
      if (parsed.status == spool::ParseStatus::truncated) break;  // torn: never acknowledged
      if (parsed.status != spool::ParseStatus::ok) {
        problems_.push_back({segment->path, offset, parsed.status, !has_next, false});
        stopped_[writer] = true;
        return true;
      }
      const StreamedRecord record{
          writer, position, {position.sequence, parsed.next}, parsed.record};
      if (!visit(record)) return false;
      position.offset = parsed.next;
      ++accepted;
    }
    if (!final || !has_next) return true;
    if (position.offset < limit)  // a torn record left in a segment the writer moved past
      problems_.push_back(
          {segment->path, position.offset, spool::ParseStatus::truncated, false, false});
    position = {*(here + 1), 0};
  }
}

}  // namespace mxring::engine
