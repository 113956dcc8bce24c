// A storage writer thread: drains every channel it serves, appends all available records to
// its current segment with one pwritev, makes them durable with one fdatasync (group
// commit), and only then answers each message. One record when idle, as many as wait when
// busy: the batch grows with the load, never with a timer. Configured with a maildir, it
// hands the batch to MaildirStore instead. Messages for Kafka go to the writer's own producer
// and are answered as the brokers acknowledge them, while the spool batches go on.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commit_marker.h"
#include "kafka_sink.h"
#include "maildir_store.h"
#include "reactor/reactor_metrics.h"
#include "storage_channel.h"

namespace mxring::engine {

struct SpoolWriterOptions {
  std::string directory;  // this writer's own: <spool>/<index>; empty: no spool (Kafka only)
  std::uint64_t segment_size = 64ull << 20;  // rotate past this many octets
  std::int64_t segment_age_s = 3600;         // ... or once the segment is this old
  std::int64_t retention_s = 0;              // at start and each rotation, apply_retention; 0 = off
  bool preallocate = true;                   // reserve segment_size when a segment starts
  std::size_t max_batch_records = 1024;
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
  void run();
  std::size_t write_batch(std::vector<StoreRequest>& batch, std::vector<StorageResult>& results);
  bool rotate();
  void answer(std::size_t channel, const StoreCompletion& completion);
  void wake_touched_reactors();
  bool open_segment(std::uint64_t sequence, bool recover);
  void apply_retention() const;

  SpoolWriterOptions options_;
  std::vector<StorageChannel*> channels_;
  WriterSignal signal_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  int fd_ = -1;
  std::uint64_t sequence_ = 0;
  std::uint64_t offset_ = 0;
  std::int64_t segment_opened_s_ = 0;
  std::optional<MaildirStore> maildir_;
  CommitMarker commit_marker_;
  std::unique_ptr<KafkaSink> kafka_;
  std::vector<bool> touched_;  // channels answered since their reactors were last woken
  WriterStats stats_;
};

}  // namespace mxring::engine
