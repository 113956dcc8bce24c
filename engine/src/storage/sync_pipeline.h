// The fdatasyncs of one segment, one or several in flight at once (pipelined group commit).
// With several, while one sync waits for the disk the writer appends the next batch and
// starts another, instead of letting the records pile up behind the first. ext4 joins
// concurrent syncs of a file into shared journal commits and the virtio disk overlaps their
// flushes: with nothing else on the core, batches of 50 records were made durable at 66k
// records/s with one sync in flight, 124k with two and 156k with four (bench/micro/RESULTS.md,
// "Storage"). Inside mxringd, where the writer shares its core with a reactor, one in flight
// did better (see below), and is the default.
//
// A sync that returns covers every write that returned before it started, so the writer hands
// each sync the number of the last batch written and answers batches up to the highest number
// a finished sync covered, whatever order the syncs finish in.
//
// Each sync thread has a descriptor of its own: Linux reports a writeback error once per open
// file (errseq_t), so with one shared descriptor the first sync to look would take the error
// and a concurrent one could return success for pages that were lost.
//
// With one sync in flight the writer runs it itself, on its own thread: it would take no new
// records while that sync runs anyway, and handing it to a thread of its own costs a wake-up
// and a switch each way per batch. With a reactor on the same core this did better than two
// or eight on threads, with 10 connections and with 100, buffered and direct
// (bench/micro/RESULTS.md, "Storage": the writer syncing itself).
//
// A writer using direct I/O (`--direct-io`) hands over whole batches instead: each is one
// O_DIRECT | O_DSYNC write, durable when it returns and covering that batch alone. The
// write's own result carries any error, so sync threads share the writer's descriptor.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage_channel.h"

namespace mxring::engine {

struct FinishedSync {
  std::uint64_t covers = 0;  // the last batch written before it started (direct: its batch)
  int error = 0;             // errno of fdatasync, 0 when the batches it covers are durable
  std::uint64_t latency_us = 0;
};

// A batch for a direct write: `size` octets at `data` (aligned for O_DIRECT) to `offset`.
struct DirectWrite {
  int fd = -1;
  const char* data = nullptr;
  std::size_t size = 0;
  std::uint64_t offset = 0;
};

class SyncPipeline {
 public:
  using SyncFile = int (*)(int fd);  // fdatasync, or a test's fault
  using WriteAt = ssize_t (*)(int fd, const void* data, std::size_t size, off_t offset);

  // `depth` sync threads (none for a depth of 1: start() and start_write() then run the sync
  // before they return). Each finished sync wakes the writer through `wake_writer`.
  SyncPipeline(unsigned depth, WriterSignal& wake_writer, SyncFile sync_file = ::fdatasync,
               unsigned writer_index = 0, WriteAt write_at = ::pwrite);
  SyncPipeline(const SyncPipeline&) = delete;
  SyncPipeline& operator=(const SyncPipeline&) = delete;
  ~SyncPipeline();

  // Waits for the syncs in flight (their outcomes stay to be collected), then points every
  // thread at `path`. Returns false with errno set when the file cannot be opened.
  bool open(const std::string& path);

  bool can_start() const;  // a thread is idle
  bool any_finished() const;
  // Starts a sync that covers batches up to `covers`. Only when can_start().
  void start(std::uint64_t covers);
  // Starts the direct write of batch `batch`; `write` stays valid until it is collected.
  // Only when can_start().
  void start_write(std::uint64_t batch, const DirectWrite& write);
  // Hands every finished sync to `take(const FinishedSync&)`, in no particular order.
  template <typename Take>
  void collect(Take&& take) {
    for (auto& slot : slots_) {
      if (slot->state.load(std::memory_order_acquire) != finished) continue;
      const auto outcome = slot->outcome;
      slot->state.store(idle, std::memory_order_relaxed);
      take(outcome);
    }
  }
  // Waits until no sync is in flight (their outcomes stay to be collected).
  void wait_all();

 private:
  enum State : std::uint32_t { idle, requested, finished, exiting };
  struct Slot {
    std::atomic<std::uint32_t> state{idle};
    int fd = -1;
    DirectWrite write;     // size 0: an fdatasync of fd
    FinishedSync outcome;  // written by the slot's thread before `finished`
    std::thread thread;
  };
  void run(Slot& slot);
  void perform(Slot& slot);  // the sync or write of the slot's request, timed
  void launch(std::uint64_t covers, const DirectWrite& write);
  int write_whole(const DirectWrite& write) const;  // 0 or errno
  Slot* idle_slot();

  WriterSignal& wake_writer_;
  SyncFile sync_file_;
  WriteAt write_at_;
  const bool in_writer_;  // one in flight: run by the caller, no thread
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<std::uint32_t> all_waiters_{0};  // threads in wait_all()
};

}  // namespace mxring::engine
