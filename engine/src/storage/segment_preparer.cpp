// Writes zeros over a whole new segment and syncs it, so the writer's later writes into it are
// overwrites: with direct I/O for a direct-I/O writer (nothing passes through the page cache),
// through the page cache for a writer whose writes go there too.
#include "segment_preparer.h"

#include <fcntl.h>
#include <linux/ioprio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "sync_directory.h"
#include "thread_name.h"

namespace mxring::engine {
namespace {

// Small writes at idle I/O priority: the writer's batch writes, each a message waiting for its
// 250, must not queue behind megabytes of zeros.
constexpr std::size_t kZeroChunk = 256 << 10;

}  // namespace

SegmentPreparer::SegmentPreparer(std::string directory, std::uint64_t size, unsigned writer_index,
                                 bool direct)
    : directory_(std::move(directory)),
      path_(directory_ + "/.prepared"),
      size_(size),
      direct_(direct) {
  thread_ = std::thread([this, writer_index] {
    name_this_thread("prep", static_cast<int>(writer_index));
    // Best effort: schedulers without priorities (none, kyber) ignore it.
    syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
    run();
  });
}

SegmentPreparer::~SegmentPreparer() {
  abandon_.store(true, std::memory_order_relaxed);  // a file half written is not finished
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  unlink(path_.c_str());
}

void SegmentPreparer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || (wanted_ && !ready_); });
    if (stopping_) return;
    lock.unlock();
    const int error = prepare();
    lock.lock();
    wanted_ = false;
    ready_ = true;
    error_ = error;
    changed_.notify_all();
  }
}

int SegmentPreparer::prepare() const {
  unlink(path_.c_str());
  const int fd = ::open(path_.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (direct_ ? O_DIRECT : 0), 0640);
  if (fd < 0) return errno;
  // Reserve first: a full disk shows here, before a single zero is written.
  if (fallocate(fd, 0, 0, static_cast<off_t>(size_)) != 0 && errno != EOPNOTSUPP) {
    const int error = errno;
    close(fd);
    unlink(path_.c_str());
    return error;
  }
  void* zeros = nullptr;
  if (posix_memalign(&zeros, 4096, kZeroChunk) != 0) {
    close(fd);
    return ENOMEM;
  }
  const std::unique_ptr<void, decltype(&std::free)> owned(zeros, &std::free);
  std::memset(zeros, 0, kZeroChunk);
  int error = 0;
  for (std::uint64_t at = 0; at < size_ && error == 0;) {
    if (abandon_.load(std::memory_order_relaxed)) {
      error = ECANCELED;
      break;
    }
    const auto n =
        pwrite(fd, zeros, std::min<std::uint64_t>(kZeroChunk, size_ - at), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      break;
    }
    // Through the page cache, each chunk goes to the disk before the next is written, at this
    // thread's idle priority: 64 MiB of dirty zeros synced at once would queue the writer's
    // group commits behind them.
    if (!direct_ && sync_file_range(fd, static_cast<off_t>(at), n,
                                    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                        SYNC_FILE_RANGE_WAIT_AFTER) != 0)
      error = errno;
    at += static_cast<std::uint64_t>(n);
  }
  if (error == 0 && fdatasync(fd) != 0) error = errno;
  close(fd);
  if (error != 0) unlink(path_.c_str());
  return error;
}

int SegmentPreparer::take(const std::string& path) {
  std::unique_lock lock(mutex_);
  if (!ready_ && !wanted_) {
    wanted_ = true;
    changed_.notify_all();
  }
  changed_.wait(lock, [&] { return ready_ || stopping_; });
  if (stopping_) return ECANCELED;
  ready_ = false;
  wanted_ = true;  // the next one, whatever became of this one
  const int error = error_;
  if (error == 0 && rename(path_.c_str(), path.c_str()) != 0) {
    const int failed = errno;
    changed_.notify_all();
    return failed;
  }
  changed_.notify_all();
  // Records are acknowledged in the file under its new name: that name must survive a crash.
  if (error == 0 && !sync_directory(directory_)) return errno;
  return error;
}

}  // namespace mxring::engine
