// A storage writer thread: drains every channel it serves, appends all available records to
// its current segment with one pwritev, makes them durable with one fdatasync (group
// commit), and only then answers each message. One record when idle, as many as wait when
// busy: the batch grows with the load, never with a timer. Up to `syncs_in_flight` batches
// are being synced at once (SyncPipeline); answers still go out in the order of the writes.
// Segments are zero-filled ahead (SegmentPreparer), so batches overwrite and each fdatasync
// writes data only. With direct I/O (`direct_io`), each batch is instead one O_DIRECT |
// O_DSYNC write at the next multiple of 4096, several in flight at once, each durable when it
// returns: no fdatasync, no journal commit, no page cache.
// Configured with a maildir, it hands the batch to MaildirStore instead. Messages for Kafka go to
// the writer's own producer and are answered as the brokers acknowledge them, while the spool
// batches go on.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aligned_buffer.h"
#include "commit_marker.h"
#include "kafka_sink.h"
#include "maildir_store.h"
#include "reactor/reactor_metrics.h"
#include "segment_preparer.h"
#include "storage_channel.h"
#include "sync_pipeline.h"

namespace mxring::engine {

struct SpoolWriterOptions {
  std::string directory;  // this writer's own: <spool>/<index>; empty: no spool (Kafka only)
  std::uint64_t segment_size = 64ull << 20;  // rotate past this many octets
  std::int64_t segment_age_s = 3600;         // ... or once the segment is this old
  std::int64_t retention_s = 0;              // at start and each rotation, apply_retention; 0 = off
  bool preallocate = true;  // zero-fill segments ahead (SegmentPreparer), else grow by appending
  // The most a segment zero-filled ahead holds (it rotates past this, not past segment_size):
  // zeros cost as much to write as records, and a writer waits for its first prepared
  // segment at start. At 300 MB/s, a 16 GiB segment zero-filled whole kept mxringd from
  // listening for a minute (past a service manager's start timeout from about 30 GiB) and
  // wrote every segment twice over. Appended segments still grow to segment_size.
  std::uint64_t max_prepared_size = 1ull << 30;
  std::size_t max_batch_records = 1024;
  unsigned syncs_in_flight = 1;  // fdatasyncs of the segment running at once (1: by the writer)
  bool direct_io = false;        // batches as O_DIRECT | O_DSYNC writes (syncs_in_flight at once)
  SyncPipeline::SyncFile sync_file = ::fdatasync;  // tests inject faults here
  SyncPipeline::WriteAt write_at = ::pwrite;       // ... and here (direct I/O)
  std::string stall_file;  // fault injection for tests: the writer pauses while it exists
  // Non-empty: deliver into this maildir (shared by every writer) instead of segments.
  std::string maildir;
  unsigned index = 0;                 // this writer's number (maildir file names)
  std::optional<KafkaOptions> kafka;  // durability kafka
};

struct WriterStats {
  std::atomic<std::uint64_t> records{0}, batches{0}, syncs{0}, failures{0};
  std::atomic<std::uint64_t> records_in_batches{0};    // spool records, batch by batch
  std::atomic<std::uint64_t> batch_histogram[8] = {};  // 1, 2-3, 4-7, ..., 128+ records
  Log2Histogram sync_latency;                          // fdatasync, written by the writer
  std::atomic<bool> healthy{true};                     // the last spool batch was stored
};

class SpoolWriter {
 public:
  SpoolWriter(SpoolWriterOptions options, std::vector<StorageChannel*> channels);
  ~SpoolWriter();

  // Recovers the last segment (truncating a torn tail) and opens it for appending. Returns
  // an error message, or empty.
  std::string open();
  void start();
  void stop();  // after the reactors have stopped pushing

  const WriterStats& stats() const { return stats_; }

 private:
  // A batch whose records are in the segment, answered once a sync covers it.
  struct WrittenBatch {
    std::uint64_t number = 0;  // batches_written_ when it was written
    std::uint64_t end = 0;     // segment offset after it
    bool needs_sync = false;   // durability fsync (else none: answered once written)
    std::vector<StoreRequest> requests;
    std::vector<std::size_t> channels;
    bool written = false;  // direct I/O: its own write returned
    AlignedBuffer buffer;  // direct I/O: the octets being written
  };

  void run();
  bool ready_for_requests() const;
  void write_maildir_batch(std::vector<StoreRequest>& batch,
                           const std::vector<std::size_t>& channels);
  void write_spool_batch(std::vector<StoreRequest>&& batch, std::vector<std::size_t>&& channels);
  void write_direct(const std::vector<iovec>& iov, std::uint64_t bytes,
                    std::vector<StoreRequest>&& batch, std::vector<std::size_t>&& channels);
  bool open_prepared_segment(std::uint64_t sequence);
  bool cut_prepared_tail();
  void leave_segment();
  void count_batch(std::size_t records);
  void fail_batch(std::vector<StoreRequest>& batch, const std::vector<std::size_t>& channels,
                  int error);
  void start_sync();
  int collect_syncs();
  void retire_durable();
  void release_cached_pages();
  void abandon_unanswered(int error);
  void finish_segment();
  bool rotate();
  void answer(std::size_t channel, StoreCompletion completion);
  void wake_touched_reactors();
  bool open_segment(std::uint64_t sequence, bool recover);
  void apply_retention() const;

  SpoolWriterOptions options_;
  std::vector<StorageChannel*> channels_;
  WriterSignal signal_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  int fd_ = -1;
  int direct_fd_ = -1;                         // the segment again, O_DIRECT | O_DSYNC
  std::unique_ptr<SegmentPreparer> preparer_;  // direct I/O, or preallocate
  bool segment_prepared_ = false;              // the current segment came from preparer_
  bool prepared_pays_ = true;             // buffered: the next segment is a prepared one (rotate())
  std::uint64_t segment_syncs_ = 0;       // fdatasyncs started in the current segment
  std::string prefixes_;                  // the batch's record headers and envelopes
  std::vector<std::size_t> prefix_ends_;  // where each record's ends in prefixes_
  std::vector<iovec> iov_;                // the batch as written
  std::vector<AlignedBuffer> spare_buffers_;  // of batches answered, for the next ones
  std::uint64_t sequence_ = 0;
  std::uint64_t offset_ = 0;
  std::uint64_t committed_end_ = 0;  // offset after the last answered batch
  std::uint64_t uncached_to_ = 0;    // synced pages before this offset left the page cache
  std::int64_t segment_opened_s_ = 0;
  std::unique_ptr<SyncPipeline> syncs_;  // spool segments only
  std::deque<WrittenBatch> unanswered_;  // in the order written, all in the current segment
  std::uint64_t batches_written_ = 0;
  std::uint64_t synced_through_ = 0;  // the highest batch number a finished sync covered
  bool unsynced_ = false;             // a batch that needs a sync was written since the last start
  std::optional<MaildirStore> maildir_;
  CommitMarker commit_marker_;
  std::unique_ptr<KafkaSink> kafka_;
  std::vector<bool> touched_;  // channels answered since their reactors were last woken
  WriterStats stats_;
};

}  // namespace mxring::engine
