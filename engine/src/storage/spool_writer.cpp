// Group-commit spool writer: one pwritev per batch, fdatasyncs pipelined across batches,
// each batch answered once a finished sync covers it.
#include "spool_writer.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "iovec_cursor.h"
#include "mxring/engine/log.h"
#include "mxring/engine/spool_format.h"
#include "mxring/engine/spool_retention.h"
#include "mxring/engine/spool_stream.h"
#include "page_cache.h"
#include "segment_window.h"
#include "sync_directory.h"
#include "thread_name.h"

namespace mxring::engine {
namespace {

std::int64_t unix_us() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
}

std::int64_t monotonic_s() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec;
}

// Direct I/O batch buffers: this size fits hundreds of ordinary messages; a batch that needs
// more gets a buffer of its own, freed once the batch is answered.
constexpr std::size_t kSpareBufferSize = 256 << 10;

// Octets a sync up to which a buffered writer's next segment is a prepared one (rotate()).
constexpr std::uint64_t kPreparedPaysUpTo = 128 << 10;

// Synced octets a buffered writer keeps in the page cache behind its newest record, for the
// readers that follow the spool (tail, forward, Kafka) a few seconds behind at most.
constexpr std::uint64_t kCachedTail = 16 << 20;

std::uint64_t round_up_to_batch_alignment(std::uint64_t n) {
  const std::uint64_t a = spool::kBatchAlignment;
  return (n + a - 1) / a * a;
}

}  // namespace

SpoolWriter::SpoolWriter(SpoolWriterOptions options, std::vector<StorageChannel*> channels)
    : options_(std::move(options)), channels_(std::move(channels)) {
  for (auto* channel : channels_) channel->writer = &signal_;
}

SpoolWriter::~SpoolWriter() {
  stop();
  if (fd_ >= 0) close(fd_);
  if (direct_fd_ >= 0) close(direct_fd_);
}

std::string SpoolWriter::open() {
  touched_.assign(channels_.size(), false);
  if (options_.kafka) {
    std::string error;
    kafka_ = KafkaSink::create(
        *options_.kafka,
        [this](std::size_t channel, StoreCompletion&& done) { answer(channel, std::move(done)); },
        error);
    if (!kafka_) return error;
  }
  if (!options_.maildir.empty()) {
    maildir_.emplace(options_.maildir, options_.index);
    return maildir_->open();
  }
  if (options_.directory.empty()) return {};  // Kafka only
  syncs_ = std::make_unique<SyncPipeline>(options_.syncs_in_flight, signal_, options_.sync_file,
                                          options_.index, options_.write_at);
  std::error_code error;
  std::filesystem::create_directories(options_.directory, error);
  if (error) return "cannot create " + options_.directory + ": " + error.message();
  if (options_.direct_io || options_.preallocate)
    preparer_ = std::make_unique<SegmentPreparer>(
        options_.directory,
        round_up_to_batch_alignment(std::min(options_.segment_size, options_.max_prepared_size)),
        options_.index, options_.direct_io);
  const auto sequences = segment_sequences(options_.directory);
  const std::uint64_t last = sequences.empty() ? 0 : sequences.back();
  if (auto refused = commit_marker_.open(options_.directory); !refused.empty()) return refused;
  if (!open_segment(last == 0 ? 1 : last, last != 0))
    return "cannot open a segment in " + options_.directory + ": " + std::strerror(errno) +
           (options_.direct_io && errno == EINVAL ? " (no direct I/O on this file system)" : "");
  // Whole records a crash left behind may never have reached the disk: sync them before
  // readers may hand them on.
  if (fdatasync(fd_) != 0) return "cannot sync " + options_.directory + ": " + std::strerror(errno);
  commit_marker_.publish({sequence_, offset_});
  apply_retention();
  return {};
}

// Opens segment `sequence` for appending. Recovering, it first reads the segment and cuts
// off a torn tail: records after the last whole one were never acknowledged, because the
// writer answers only after its fdatasync (or direct write) returned; damage before the
// previous run's commit point is never cut. A writer with prepared
// segments then leaves the recovered one final and goes on in a fresh prepared one. Without
// direct I/O, a segment that cannot be prepared (no room for a whole one, say) is grown by
// appending instead.
bool SpoolWriter::open_segment(std::uint64_t sequence, bool recover) {
  if (!recover && preparer_ && (options_.direct_io || prepared_pays_)) {
    if (open_prepared_segment(sequence)) return true;
    if (options_.direct_io) return false;
    log(Level::warning, "spool: cannot prepare a segment (" + std::string(std::strerror(errno)) +
                            "); appending to a growing one");
  }
  const auto path = segment_path(options_.directory, sequence);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return false;
  std::uint64_t valid_end = 0;
  if (recover) {
    SegmentWindow segment(fd);
    const auto size = segment.file_size();
    std::size_t records = 0;
    spool::ParseResult parsed;
    while ((parsed = segment.parse(valid_end, size)).status == spool::ParseStatus::ok) {
      valid_end = parsed.next;
      ++records;
    }
    // The padding after the last batch of a direct-I/O writer stays: the commit point, and
    // readers' cursors, may lie at its end.
    const auto padded_end = round_up_to_batch_alignment(valid_end);
    if (padded_end <= size && segment.first_nonzero(valid_end, padded_end) == padded_end)
      valid_end = padded_end;
    // Records before the previous run's commit point were acknowledged: what stops the scan
    // there is damage (the disk returned other octets than were synced), not a torn tail, and
    // nothing of it is cut. The segment is left as found for `mxring spool verify` and for
    // whoever salvages the records behind the damage; storing goes on in the next segment.
    auto committed = commit_marker_.found_at_open();
    committed.sequence = full_sequence(committed.sequence, sequence);
    if (parsed.status != spool::ParseStatus::end &&
        (committed.sequence > sequence ||
         (committed.sequence == sequence && valid_end < committed.offset))) {
      log(Level::error, "spool recovery: " + path + " is damaged at offset " +
                            std::to_string(valid_end) + ", after record " +
                            std::to_string(records) + ", before its commit point (" +
                            std::to_string(committed.offset) +
                            "): acknowledged records may be unreadable there; the segment is "
                            "kept as found and storing continues in the next one");
      close(fd);
      return open_segment(sequence + 1, false);
    }
    if (parsed.status != spool::ParseStatus::end) {
      const auto dropped = size - valid_end;
      std::string what = std::to_string(dropped) + " octets after record " +
                         std::to_string(records) + " of " + path;
      if (parsed.status == spool::ParseStatus::truncated && !parsed.record.header.queue_id.empty())
        what += " (a torn write of " + std::string(parsed.record.header.queue_id.view()) + ")";
      log(Level::warning, "spool recovery: dropping " + what + "; never acknowledged");
    }
    // Cut what follows, torn octets or zeros a direct-I/O writer had prepared.
    if (valid_end < size && (ftruncate(fd, static_cast<off_t>(valid_end)) != 0 || fsync(fd) != 0)) {
      close(fd);
      return false;
    }
    if (preparer_) {
      close(fd);
      if (valid_end == 0) unlink(path.c_str());  // nothing in it: its number is reused
      return open_segment(valid_end == 0 ? sequence : sequence + 1, false);
    }
  } else {
    // Reserve what is left of the segment (the file's size is unchanged): appends then never
    // allocate blocks, and a nearly full disk shows at rotation rather than in the middle of
    // a batch. Best effort: a full disk may refuse, and appending works without it.
    if (options_.preallocate)
      fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(options_.segment_size));
    // Records are acknowledged in this file: its name must survive a crash.
    if (!sync_directory(options_.directory)) {
      const int error = errno;
      close(fd);
      errno = error;
      return false;
    }
  }
  if (!syncs_->open(path)) {
    const int error = errno;
    close(fd);
    errno = error;
    return false;
  }
  leave_segment();
  fd_ = fd;
  sequence_ = sequence;
  offset_ = valid_end;
  committed_end_ = valid_end;
  uncached_to_ = 0;
  segment_opened_s_ = monotonic_s();
  segment_prepared_ = false;
  return true;
}

// The zeros a prepared segment holds beyond its last batch are cut once nothing more goes
// into it (left by a crash instead, they read as padding). True if there was a cut to make
// and it was made.
bool SpoolWriter::cut_prepared_tail() {
  if (!segment_prepared_ || fd_ < 0) return false;
  if (ftruncate(fd_, static_cast<off_t>(offset_)) == 0) return true;
  log(Level::warning,
      "spool: cannot cut the unused end of a segment: " + std::string(std::strerror(errno)));
  return false;
}

// Closes the current segment (both its descriptors), which is final from now on.
void SpoolWriter::leave_segment() {
  cut_prepared_tail();
  if (fd_ >= 0) close(fd_);
  if (direct_fd_ >= 0) close(direct_fd_);
  fd_ = direct_fd_ = -1;
}

// Segment `sequence` is the next prepared (zero-filled) file. The segment left behind is
// final: the zeros beyond its last batch are cut.
bool SpoolWriter::open_prepared_segment(std::uint64_t sequence) {
  const auto path = segment_path(options_.directory, sequence);
  if (const int error = preparer_->take(path); error != 0) {
    errno = error;
    return false;
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  // With direct I/O the sync threads write through `direct`, and fdatasync is never called;
  // otherwise they fdatasync through their own descriptors (SyncPipeline::open).
  const int direct = fd < 0 || !options_.direct_io
                         ? -1
                         : ::open(path.c_str(), O_WRONLY | O_DIRECT | O_DSYNC | O_CLOEXEC);
  if (fd < 0 || (options_.direct_io ? direct < 0 : !syncs_->open(path))) {
    const int error = errno;
    if (fd >= 0) close(fd);
    if (direct >= 0) close(direct);
    errno = error;
    return false;
  }
  leave_segment();
  fd_ = fd;
  direct_fd_ = direct;
  sequence_ = sequence;
  offset_ = 0;
  committed_end_ = 0;
  uncached_to_ = 0;
  segment_opened_s_ = monotonic_s();
  segment_prepared_ = true;
  return true;
}

// Answers every batch of the current segment: starts the sync it still needs, waits for the
// syncs in flight. A segment is left only when nothing in it waits for an answer.
void SpoolWriter::finish_segment() {
  syncs_->wait_all();
  int error = collect_syncs();
  if (error == 0 && unsynced_) {
    start_sync();
    syncs_->wait_all();
    error = collect_syncs();
  }
  if (error != 0) abandon_unanswered(error);
  retire_durable();
}

bool SpoolWriter::rotate() {
  finish_segment();
  // A buffered writer's prepared segment spares every fdatasync a metadata write, but costs
  // its octets written twice (zeros, then records): it pays while syncs are small. Measured
  // here (bench/RESULTS.md): 1 KiB messages, ~45 KiB a sync, +10 % msgs/s with it; 10 KiB,
  // ~390 KiB a sync, 15-24 % fewer; durability none, no sync to spare, only the cost.
  prepared_pays_ = segment_syncs_ > 0 && offset_ / segment_syncs_ <= kPreparedPaysUpTo;
  segment_syncs_ = 0;
  if (!open_segment(sequence_ + 1, false)) return false;
  apply_retention();
  return true;
}

// Deleting whole old segments is a few unlinks, rare (once per rotation), and on this
// writer's own directory, so it runs here rather than on a thread of its own.
void SpoolWriter::apply_retention() const {
  if (options_.retention_s <= 0) return;
  const auto slash = options_.directory.rfind('/');
  const auto spool =
      slash == std::string::npos ? std::string(".") : options_.directory.substr(0, slash);
  const auto report = engine::apply_retention(spool, options_.retention_s, options_.index);
  for (const auto& path : report.deleted) log(Level::info, "retention: deleted " + path);
  for (const auto& line : report.held)
    log(Level::warning, "retention: " + line + " (the consumer lags; nothing is deleted for it)");
  for (const auto& error : report.errors) log(Level::warning, "retention paused: " + error);
}

void SpoolWriter::start() {
  thread_ = std::thread([this] {
    name_this_thread("writer", static_cast<int>(options_.index));
    run();
  });
}

void SpoolWriter::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  signal_.wake_for_stop();
  thread_.join();
  // Everything is answered (run() ends only then): the zeros prepared beyond the last batch
  // can go.
  if (cut_prepared_tail()) fdatasync(fd_);
}

void SpoolWriter::answer(std::size_t channel, StoreCompletion completion) {
  // Full only if a reactor broke its promise of at most `capacity` messages outstanding;
  // an answer is never dropped (its client would wait forever), so wait for room.
  // Answers are published to the reactor once per batch, with its wake-up.
  auto& target = *channels_[channel];
  while (!target.completions.try_stage(completion)) {
    target.completions.publish();
    target.wake_reactor();
    std::this_thread::yield();
  }
  touched_[channel] = true;
}

void SpoolWriter::wake_touched_reactors() {
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    if (!touched_[i]) continue;
    channels_[i]->completions.publish();
    channels_[i]->wake_reactor();
    touched_[i] = false;
  }
}

// Under load the writer takes new records only when a sync can start for them: while every
// sync is busy they wait in the rings and join the next, larger batch.
bool SpoolWriter::ready_for_requests() const {
  return !syncs_ || syncs_->can_start();
}

void SpoolWriter::run() {
  struct Pending {
    std::size_t channel;
    StoreRequest request;
  };
  std::vector<Pending> pending;
  std::vector<StoreRequest> batch;
  std::vector<std::size_t> batch_channels;
  for (;;) {
    if (syncs_) {
      if (const int error = collect_syncs(); error != 0) {
        abandon_unanswered(error);
        rotate();  // the page cache's state is unknown after a failed fdatasync
      }
      if (unsynced_ && syncs_->can_start()) start_sync();
      retire_durable();
      wake_touched_reactors();
    }
    pending.clear();
    if (ready_for_requests()) {
      for (std::size_t i = 0; i < channels_.size(); ++i) {
        channels_[i]->requests.pop_batch(options_.max_batch_records - pending.size(),
                                         [&](StoreRequest&& r) {
                                           pending.push_back({i, std::move(r)});
                                         });
      }
    }
    if (pending.empty()) {
      if (kafka_ && !kafka_->idle()) {
        // Reports arrive through librdkafka's queue, not our signal: poll it briefly. At
        // shutdown every message has been answered (the reactors waited for that).
        const bool stopping = stopping_.load(std::memory_order_acquire);
        if (stopping)
          kafka_->abandon_unreported();
        else
          kafka_->service(std::chrono::milliseconds(1));
        wake_touched_reactors();
        if (stopping && unanswered_.empty()) break;
        continue;
      }
      if (stopping_.load(std::memory_order_acquire) && unanswered_.empty()) break;
      // Woken by a reactor that queued a record, or by a sync thread that finished.
      const auto token = signal_.prepare();
      bool any = syncs_ && syncs_->any_finished();
      if (ready_for_requests())
        for (auto* channel : channels_) any = any || !channel->requests.empty();
      if (any || (stopping_.load(std::memory_order_acquire) && unanswered_.empty())) {
        signal_.cancel();
        continue;
      }
      signal_.wait(token);
      continue;
    }
    // Fault injection (tests only): a stalled disk, while the named file exists.
    while (!options_.stall_file.empty() && !stopping_.load(std::memory_order_relaxed) &&
           access(options_.stall_file.c_str(), F_OK) == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));

    batch.clear();
    batch_channels.clear();
    for (auto& p : pending) {
      if (p.request.kafka) {
        kafka_->send(p.channel, std::move(p.request));
      } else {
        batch.push_back(std::move(p.request));
        batch_channels.push_back(p.channel);
      }
    }
    if (!batch.empty()) {
      if (maildir_) {
        write_maildir_batch(batch, batch_channels);
      } else {
        // Its sync starts (and a durability-none batch is answered) at the top of the loop.
        write_spool_batch(std::move(batch), std::move(batch_channels));
      }
    }
    batch.clear();
    if (kafka_) kafka_->service(std::chrono::milliseconds(0));
    wake_touched_reactors();
  }
}

void SpoolWriter::write_maildir_batch(std::vector<StoreRequest>& batch,
                                      const std::vector<std::size_t>& channels) {
  std::vector<StorageResult> results;
  maildir_->write(batch, results);
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
  stats_.records.fetch_add(batch.size(), std::memory_order_relaxed);
  for (std::size_t i = 0; i < batch.size(); ++i)
    answer(channels[i], StoreCompletion::hand_back(std::move(batch[i]), results[i]));
}

void SpoolWriter::fail_batch(std::vector<StoreRequest>& batch,
                             const std::vector<std::size_t>& channels, int error) {
  for (std::size_t i = 0; i < batch.size(); ++i)
    answer(channels[i], StoreCompletion::hand_back(std::move(batch[i]), storage_failure(error)));
}

void SpoolWriter::write_spool_batch(std::vector<StoreRequest>&& batch,
                                    std::vector<std::size_t>&& channels) {
  const auto now = unix_us();
  std::uint64_t bytes = 0;
  // Every record's header and envelope in one buffer, kept from batch to batch (no allocation
  // per record); the iovecs point into it once it has stopped growing.
  prefixes_.clear();
  prefix_ends_.clear();
  bool sync = false;
  for (const auto& r : batch) {
    spool::append_record_prefix(*r.message, now, prefixes_);
    prefix_ends_.push_back(prefixes_.size());
    bytes += r.message->content.size();
    sync = sync || r.sync;
  }
  bytes += prefixes_.size();
  const auto stored = options_.direct_io ? round_up_to_batch_alignment(bytes) : bytes;
  const auto segment_size = segment_prepared_
                                ? std::min(options_.segment_size, options_.max_prepared_size)
                                : options_.segment_size;
  const bool too_big = offset_ > 0 && offset_ + stored > segment_size;
  const bool too_old = offset_ > 0 && monotonic_s() - segment_opened_s_ > options_.segment_age_s;
  if ((too_big || too_old) && !rotate()) {
    stats_.failures.fetch_add(1, std::memory_order_relaxed);
    fail_batch(batch, channels, errno);
    return;
  }
  auto& iov = iov_;
  iov.clear();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const std::size_t begin = i == 0 ? 0 : prefix_ends_[i - 1];
    iov.push_back({prefixes_.data() + begin, prefix_ends_[i] - begin});
    auto& content = batch[i].message->content;
    if (!content.empty()) iov.push_back({content.data(), content.size()});
  }
  if (options_.direct_io) {
    write_direct(iov, bytes, std::move(batch), std::move(channels));
    return;
  }
  const auto start = offset_;
  std::size_t index = 0;
  int error = 0;
  while (index < iov.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(iov.size() - index, IOV_MAX));
    const auto n = pwritev(fd_, iov.data() + index, count, static_cast<off_t>(offset_));
    if (n < 0) {
      if (errno == EINTR) continue;
      error = errno;
      break;
    }
    offset_ += static_cast<std::uint64_t>(n);
    advance_iovecs(iov.data(), iov.size(), index, static_cast<std::size_t>(n));
  }
  if (error != 0) {
    // Nothing of this batch is acknowledged. Cut what it wrote; after an I/O error the page
    // cache's state is unknown, so go on in a new segment (earlier batches are answered
    // first).
    log(Level::error, std::string("spool write failed: ") + std::strerror(error));
    stats_.failures.fetch_add(1, std::memory_order_relaxed);
    stats_.healthy.store(false, std::memory_order_relaxed);
    fail_batch(batch, channels, error);
    if (ftruncate(fd_, static_cast<off_t>(start)) == 0) offset_ = start;
    if (offset_ != start || (sync && error != ENOSPC && error != EDQUOT)) rotate();
    return;
  }
  count_batch(batch.size());
  unanswered_.push_back(
      {++batches_written_, offset_, sync, std::move(batch), std::move(channels), false, {}});
  unsynced_ = unsynced_ || sync;
}

void SpoolWriter::count_batch(std::size_t records) {
  const auto bucket = std::min<std::size_t>(7, std::bit_width(records) - 1);
  stats_.batch_histogram[bucket].fetch_add(1, std::memory_order_relaxed);
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
}

// Direct I/O: the batch is copied into an aligned buffer, padded with zeros to the next
// multiple of 4096 (SPOOL-FORMAT.md §1), and written by a sync thread with O_DIRECT | O_DSYNC
// at the segment's next aligned offset. It is answered once that write (and every earlier
// one) returned, whatever its durability: until then it is not written at all.
void SpoolWriter::write_direct(const std::vector<iovec>& iov, std::uint64_t bytes,
                               std::vector<StoreRequest>&& batch,
                               std::vector<std::size_t>&& channels) {
  const auto size = static_cast<std::size_t>(round_up_to_batch_alignment(bytes));
  AlignedBuffer buffer;
  for (std::size_t i = 0; i < spare_buffers_.size(); ++i) {
    if (spare_buffers_[i].capacity() < size) continue;
    buffer = std::move(spare_buffers_[i]);
    spare_buffers_.erase(spare_buffers_.begin() + static_cast<std::ptrdiff_t>(i));
    break;
  }
  if (buffer.capacity() == 0) buffer = AlignedBuffer(std::max(size, kSpareBufferSize));
  char* at = buffer.data();
  for (const auto& v : iov) {
    std::memcpy(at, v.iov_base, v.iov_len);
    at += v.iov_len;
  }
  std::memset(at, 0, static_cast<std::size_t>(buffer.data() + size - at));
  ++batches_written_;
  syncs_->start_write(batches_written_, {direct_fd_, buffer.data(), size, offset_});
  offset_ += size;
  stats_.syncs.fetch_add(1, std::memory_order_relaxed);
  count_batch(batch.size());
  unanswered_.push_back({batches_written_, offset_, true, std::move(batch), std::move(channels),
                         false, std::move(buffer)});
}

void SpoolWriter::start_sync() {
  syncs_->start(batches_written_);
  ++segment_syncs_;
  unsynced_ = false;
  stats_.syncs.fetch_add(1, std::memory_order_relaxed);
}

// Takes the outcome of every finished sync; returns the first error, or 0.
int SpoolWriter::collect_syncs() {
  int error = 0;
  syncs_->collect([&](const FinishedSync& done) {
    stats_.sync_latency.record_us(done.latency_us);
    if (done.error != 0 && error == 0) error = done.error;
    if (done.error != 0) return;
    if (!options_.direct_io) {
      synced_through_ = std::max(synced_through_, done.covers);
      return;
    }
    for (auto& batch : unanswered_)
      if (batch.number == done.covers) batch.written = true;
  });
  return error;
}

// Answers, in the order written, every batch that is durable (or needs no sync).
void SpoolWriter::retire_durable() {
  while (!unanswered_.empty()) {
    auto& batch = unanswered_.front();
    const bool durable = options_.direct_io ? batch.written : batch.number <= synced_through_;
    if (batch.needs_sync && !durable) break;
    for (std::size_t i = 0; i < batch.requests.size(); ++i)
      answer(batch.channels[i],
             StoreCompletion::hand_back(std::move(batch.requests[i]), StorageResult::stored));
    // Durable (or, for durability none, written): spool readers may hand these on now.
    committed_end_ = batch.end;
    commit_marker_.publish({sequence_, batch.end});
    stats_.records.fetch_add(batch.requests.size(), std::memory_order_relaxed);
    stats_.records_in_batches.fetch_add(batch.requests.size(), std::memory_order_relaxed);
    stats_.healthy.store(true, std::memory_order_relaxed);
    // Kept for the next batches: one per write in flight, and none a huge batch grew.
    if (batch.buffer.capacity() == kSpareBufferSize &&
        spare_buffers_.size() <= options_.syncs_in_flight)
      spare_buffers_.push_back(std::move(batch.buffer));
    unanswered_.pop_front();
  }
  release_cached_pages();
}

// Synced pages further back than kCachedTail leave the page cache, so the pages the next
// batches and the next prepared segment take are these, reused, rather than fresh memory:
// on a virtual machine that hands free memory back to its host (virtio-balloon free page
// reporting) every fresh page costs a fault in the host, ~3 µs a page here (OPERATING.md,
// "Sizing"). Only clean pages can be dropped, so only what an fdatasync covered: durability
// none leaves its dirty pages to the kernel's writeback; direct I/O has no cached pages.
void SpoolWriter::release_cached_pages() {
  if (options_.direct_io || synced_through_ == 0 || committed_end_ <= kCachedTail) return;
  const std::uint64_t to = committed_end_ - kCachedTail;
  if (to < uncached_to_ + kCachedTail / 4) return;  // a few calls a segment, not one a batch
  uncached_to_ = drop_cached_pages(fd_, uncached_to_, to);
}

// A sync failed: nothing written since the last answered batch is acknowledged, because
// after a failed fdatasync the page cache's state is unknown (even for batches a later sync
// seemed to cover). Their octets are cut off.
void SpoolWriter::abandon_unanswered(int error) {
  log(Level::error, std::string("spool sync failed: ") + std::strerror(error));
  stats_.failures.fetch_add(1, std::memory_order_relaxed);
  stats_.healthy.store(false, std::memory_order_relaxed);
  syncs_->wait_all();
  collect_syncs();
  for (auto& batch : unanswered_) fail_batch(batch.requests, batch.channels, error);
  unanswered_.clear();
  unsynced_ = false;
  if (ftruncate(fd_, static_cast<off_t>(committed_end_)) == 0) offset_ = committed_end_;
}

}  // namespace mxring::engine
