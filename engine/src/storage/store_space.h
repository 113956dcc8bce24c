// Free space on the file system messages are stored on, and the floor below which the server
// takes no new message. RFC 1870 §6.1 has a server that cannot take a message of the size
// MAIL declares *now* answer 452 4.3.1 (Insufficient system storage) there, before the client
// sends it, instead of after; Postfix refuses MAIL the same way while its queue file system
// has less free than queue_minfree, by default 1.5 × message_size_limit. A write that still
// finds the disk full (another process filled it within the second) is answered 452 4.3.1
// at the end of the data, as before: the floor only moves the refusal earlier.
//
// Inodes run out too, before the octets on a file system of many small files: a maildir takes
// one a message, the spool one a segment. So the server also keeps a floor of free inodes,
// where the file system counts them (ext4 does; btrfs and others report none and are not
// held to it): below it, the same 452 at MAIL, instead of every write failing with ENOSPC
// once the last inode is gone.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace mxring::engine {

class StoreSpace {
 public:
  // Samples the file system holding `directory` through a descriptor opened now, so the
  // samples stay right after a chroot. Null, with `error` set, when it cannot be opened.
  static std::unique_ptr<StoreSpace> open(const std::string& directory, std::uint64_t floor,
                                          std::uint64_t inode_floor, std::string& error);
  ~StoreSpace();
  StoreSpace(const StoreSpace&) = delete;
  StoreSpace& operator=(const StoreSpace&) = delete;

  // Samples again when `now_s` is a second not yet sampled. Every reactor calls it from its
  // once-a-second tick; one of them samples (fstatvfs reads the superblock's counters, no I/O).
  void refresh(std::int64_t now_s);
  // Whether `octets` more (0: a message of unknown size) leave at least the floor free, and
  // the inodes are above theirs.
  bool room_for(std::uint64_t octets) const {
    const auto free = free_.load(std::memory_order_relaxed);
    return free >= floor_ && free - floor_ >= octets && inodes_above_floor();
  }
  std::uint64_t free_bytes() const { return free_.load(std::memory_order_relaxed); }
  std::uint64_t floor() const { return floor_; }
  // Free inodes, and whether the file system counts them at all.
  std::uint64_t free_inodes() const { return free_inodes_.load(std::memory_order_relaxed); }
  bool counts_inodes() const { return free_inodes() != kUncounted; }
  std::uint64_t inode_floor() const { return inode_floor_; }

 private:
  static constexpr std::uint64_t kUncounted = UINT64_MAX;  // free_inodes() without a table

  StoreSpace(int fd, std::string directory, std::uint64_t floor, std::uint64_t inode_floor);
  bool sample();
  void log_crossing();
  bool inodes_above_floor() const { return free_inodes() >= inode_floor_; }

  const int fd_;
  const std::string directory_;  // for the log lines
  const std::uint64_t floor_;
  const std::uint64_t inode_floor_;
  std::atomic<std::uint64_t> free_{0};
  std::atomic<std::uint64_t> free_inodes_{0};
  std::atomic<std::int64_t> sampled_second_{0};
  std::atomic<bool> below_floor_{false};  // as last logged
};

}  // namespace mxring::engine
