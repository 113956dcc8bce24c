#include "store_space.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mxring/engine/log.h"

namespace mxring::engine {

std::unique_ptr<StoreSpace> StoreSpace::open(const std::string& directory, std::uint64_t floor,
                                             std::uint64_t inode_floor, std::string& error) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open " + directory + " to watch its free space: " + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<StoreSpace> space(new StoreSpace(fd, directory, floor, inode_floor));
  if (!space->sample()) {
    error = "cannot read the free space of " + directory + ": " + std::strerror(errno);
    return nullptr;
  }
  space->log_crossing();
  return space;
}

StoreSpace::StoreSpace(int fd, std::string directory, std::uint64_t floor,
                       std::uint64_t inode_floor)
    : fd_(fd), directory_(std::move(directory)), floor_(floor), inode_floor_(inode_floor) {}

StoreSpace::~StoreSpace() {
  close(fd_);
}

void StoreSpace::refresh(std::int64_t now_s) {
  auto sampled = sampled_second_.load(std::memory_order_relaxed);
  if (sampled == now_s ||
      !sampled_second_.compare_exchange_strong(sampled, now_s, std::memory_order_acq_rel))
    return;  // this second's sample is taken, or being taken by another reactor
  if (!sample()) {
    log(Level::warning, "cannot read the free space of " + directory_ + ": " +
                            std::strerror(errno) + " (keeping the last reading)");
    return;
  }
  log_crossing();
}

// Operators see the server stop taking mail, and start again, in the log.
void StoreSpace::log_crossing() {
  const bool below = !room_for(0);
  if (below_floor_.exchange(below, std::memory_order_relaxed) == below) return;
  std::string figures = " (" + std::to_string(free_bytes()) + " octets free, " +
                        std::to_string(floor_) + " kept free by --min-free-space";
  if (counts_inodes())
    figures += "; " + std::to_string(free_inodes()) + " inodes free, " +
               std::to_string(inode_floor_) + " kept free by --min-free-inodes";
  figures += ")";
  if (below)
    log(Level::warning, "storage: " + directory_ + " is below its free-space floor" + figures +
                            ": MAIL is answered 452 4.3.1 until space returns");
  else
    log(Level::info, "storage: " + directory_ + " has room again" + figures);
}

bool StoreSpace::sample() {
  struct statvfs fs {};
  if (fstatvfs(fd_, &fs) != 0) return false;
  // f_bavail: what an unprivileged writer may use (ext4 keeps 5 % for root by default).
  free_.store(static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize, std::memory_order_relaxed);
  // f_files 0: the file system has no fixed inode table (btrfs, some network file systems).
  free_inodes_.store(fs.f_files == 0 ? kUncounted : static_cast<std::uint64_t>(fs.f_favail),
                     std::memory_order_relaxed);
  return true;
}

}  // namespace mxring::engine
