// The commit marker file: 4096 octets, "MXRC" then version 1 (u32) then one u64 holding
// sequence << 40 | offset, stored and loaded atomically (SPOOL-FORMAT.md §5).
#include "commit_marker.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace mxring::engine {
namespace {

constexpr std::size_t kFileSize = 4096;
constexpr char kHeader[8] = {'M', 'X', 'R', 'C', 1, 0, 0, 0};
constexpr std::size_t kValueOffset = 8;
constexpr int kOffsetBits = 40;  // a segment may grow to 1 TiB
constexpr std::uint64_t kOffsetMask = (std::uint64_t{1} << kOffsetBits) - 1;
constexpr std::uint64_t kSequenceMask = (std::uint64_t{1} << (64 - kOffsetBits)) - 1;

std::uint64_t pack(CommitPoint point) {
  return point.sequence << kOffsetBits | (point.offset & kOffsetMask);
}

CommitPoint unpack(std::uint64_t value) {
  return {value >> kOffsetBits, value & kOffsetMask};
}

std::uint64_t& value_at(void* map) {
  return *reinterpret_cast<std::uint64_t*>(static_cast<char*>(map) + kValueOffset);
}

CommitPoint load_point(void* map) {
  return unpack(std::atomic_ref<std::uint64_t>(value_at(map)).load(std::memory_order_acquire));
}

}  // namespace

CommitMarker::~CommitMarker() {
  if (map_ != nullptr) munmap(map_, kFileSize);
  if (fd_ >= 0) close(fd_);  // releases the lock
}

std::string CommitMarker::open(const std::string& directory) {
  const auto path = directory + "/" + kCommitFileName;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return "cannot open " + path + ": " + std::strerror(errno);
  // Readers take the shared lock for a moment only; retry briefly before concluding that
  // another mxringd owns this spool.
  bool locked = false;
  for (int attempt = 0; attempt < 50 && !locked; ++attempt) {
    locked = flock(fd_, LOCK_EX | LOCK_NB) == 0;
    if (!locked) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!locked) return path + " is locked: another mxringd writes to this spool";
  if (ftruncate(fd_, kFileSize) != 0) return "cannot size " + path + ": " + std::strerror(errno);
  map_ = mmap(nullptr, kFileSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    return "cannot map " + path + ": " + std::strerror(errno);
  }
  if (std::memcmp(map_, kHeader, sizeof kHeader) == 0) found_at_open_ = load_point(map_);
  std::memcpy(map_, kHeader, sizeof kHeader);
  return {};
}

void CommitMarker::publish(CommitPoint point) {
  std::atomic_ref<std::uint64_t>(value_at(map_)).store(pack(point), std::memory_order_release);
}

std::optional<CommitPoint> read_commit_point(const std::string& directory) {
  const auto path = directory + "/" + kCommitFileName;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;  // never written by a running writer
  std::optional<CommitPoint> point;
  if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
    flock(fd, LOCK_UN);
  } else {
    point = CommitPoint{};  // a writer that is starting has committed nothing yet
    struct stat info {};
    void* map = fstat(fd, &info) == 0 && info.st_size >= static_cast<off_t>(kFileSize)
                    ? mmap(nullptr, kFileSize, PROT_READ, MAP_SHARED, fd, 0)
                    : MAP_FAILED;
    if (map != MAP_FAILED) {
      point = load_point(map);
      munmap(map, kFileSize);
    }
  }
  close(fd);
  return point;
}

std::uint64_t full_sequence(std::uint64_t marked, std::uint64_t newest) {
  // One past the newest listed: a run that stopped in a fresh segment before writing to it
  // left the marker naming a segment recovery then removed as empty.
  const auto bound = newest + 1;
  if (bound < marked) return marked;
  return bound - ((bound - marked) & kSequenceMask);
}

}  // namespace mxring::engine
