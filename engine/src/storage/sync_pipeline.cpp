// Sync threads: each waits for a request on its slot's state word, runs fdatasync on its own
// descriptor, publishes the outcome, and wakes the writer. With one in flight there is no
// thread: the writer runs it itself.
#include "sync_pipeline.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "futex_word.h"
#include "thread_name.h"

namespace mxring::engine {

SyncPipeline::SyncPipeline(unsigned depth, WriterSignal& wake_writer, SyncFile sync_file,
                           unsigned writer_index, WriteAt write_at)
    : wake_writer_(wake_writer),
      sync_file_(sync_file),
      write_at_(write_at),
      in_writer_(depth <= 1) {
  for (unsigned i = 0; i < std::max(depth, 1u); ++i) {
    Slot& slot = *slots_.emplace_back(std::make_unique<Slot>());
    if (in_writer_) continue;  // the writer runs the one sync itself
    slot.thread = std::thread([this, &slot, writer_index, i] {
      name_this_thread("sync", static_cast<int>(writer_index), static_cast<int>(i));
      run(slot);
    });
  }
}

SyncPipeline::~SyncPipeline() {
  wait_all();
  for (auto& slot : slots_) {
    slot->state.store(exiting, std::memory_order_release);
    futex_wake(slot->state, INT32_MAX);
    if (slot->thread.joinable()) slot->thread.join();
    if (slot->fd >= 0) close(slot->fd);
  }
}

void SyncPipeline::perform(Slot& slot) {
  const auto started = std::chrono::steady_clock::now();
  if (slot.write.size > 0)
    slot.outcome.error = write_whole(slot.write);
  else
    slot.outcome.error = sync_file_(slot.fd) == 0 ? 0 : errno;
  slot.outcome.latency_us =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count());
}

void SyncPipeline::run(Slot& slot) {
  for (;;) {
    std::uint32_t state;
    while ((state = slot.state.load(std::memory_order_acquire)) != requested && state != exiting)
      futex_wait(slot.state, state);
    if (state == exiting) return;
    perform(slot);
    // Sequentially consistent with wait_all()'s count and load: either it sees `finished` or
    // this thread sees it waiting, so the wake-up system call is made only when needed.
    slot.state.store(finished, std::memory_order_seq_cst);
    if (all_waiters_.load(std::memory_order_seq_cst) > 0) futex_wake(slot.state, INT32_MAX);
    wake_writer_.notify();
  }
}

bool SyncPipeline::open(const std::string& path) {
  wait_all();
  std::vector<int> fds;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      for (const int opened : fds) close(opened);
      errno = error;
      return false;
    }
    fds.push_back(fd);
  }
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]->fd >= 0) close(slots_[i]->fd);
    slots_[i]->fd = fds[i];
  }
  return true;
}

bool SyncPipeline::can_start() const {
  for (const auto& slot : slots_)
    if (slot->state.load(std::memory_order_acquire) == idle) return true;
  return false;
}

bool SyncPipeline::any_finished() const {
  for (const auto& slot : slots_)
    if (slot->state.load(std::memory_order_acquire) == finished) return true;
  return false;
}

// A short write is continued where it stopped (O_DIRECT keeps whole blocks, so what is left
// stays aligned); one that writes nothing is an error.
int SyncPipeline::write_whole(const DirectWrite& write) const {
  std::size_t done = 0;
  while (done < write.size) {
    const auto n = write_at_(write.fd, write.data + done, write.size - done,
                             static_cast<off_t>(write.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

SyncPipeline::Slot* SyncPipeline::idle_slot() {
  for (auto& slot : slots_)
    if (slot->state.load(std::memory_order_acquire) == idle) return slot.get();
  return nullptr;
}

void SyncPipeline::start(std::uint64_t covers) {
  launch(covers, {});
}

void SyncPipeline::start_write(std::uint64_t batch, const DirectWrite& write) {
  launch(batch, write);
}

void SyncPipeline::launch(std::uint64_t covers, const DirectWrite& write) {
  if (Slot* slot = idle_slot()) {
    slot->write = write;
    slot->outcome = {covers, 0, 0};
    if (in_writer_) {
      perform(*slot);
      slot->state.store(finished, std::memory_order_release);
      return;
    }
    slot->state.store(requested, std::memory_order_release);
    futex_wake(slot->state, 1);
  }
}

void SyncPipeline::wait_all() {
  all_waiters_.fetch_add(1, std::memory_order_seq_cst);
  for (const auto& slot : slots_)
    while (slot->state.load(std::memory_order_seq_cst) == requested)
      futex_wait(slot->state, requested);
  all_waiters_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace mxring::engine
