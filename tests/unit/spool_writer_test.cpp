// The spool writer on a real file system: group commit answers every message, records read
// back byte-identical, a torn tail is cut at recovery, segments rotate by size, syncs in
// flight answer in write order, and a failed sync acknowledges nothing it covered. The
// parameterised tests run each twice: pwritev + fdatasync, and direct I/O (--direct-io).
#include "storage/spool_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "mxring/engine/maildir_name.h"
#include "mxring/engine/spool_format.h"
#include "mxring/engine/spool_reader.h"
#include "mxring/engine/spool_stream.h"
#include "page_residency.h"
#include "spool_writer_fixture.h"
#include "storage/commit_marker.h"

namespace mxring::engine {
namespace {

TEST_P(SpoolWriterIoTest, StoresAndAnswersEveryMessage) {
  SpoolWriter writer(options(segment_size()), {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  const auto done = store(0, 200);
  // A reader following the spool sees all of it, in order, while the writer runs (up to the
  // commit point; direct I/O: past each batch's padding, short of the zeros prepared beyond)
  // and after it stopped.
  const auto streamed = [&] {
    std::vector<std::string> ids;
    SpoolStream stream(dir_.string(), {});
    stream.poll([&](const StreamedRecord& r) {
      ids.emplace_back(r.view.header.queue_id.view());
      return true;
    });
    EXPECT_TRUE(stream.take_problems().empty());
    return ids;
  };
  std::vector<std::string> all;
  for (int i = 0; i < 200; ++i) all.push_back("Q" + std::to_string(i));
  EXPECT_EQ(streamed(), all);
  writer.stop();
  EXPECT_EQ(streamed(), all);
  for (const auto& c : done) {
    EXPECT_EQ(c.result, StorageResult::stored);
    // Each answer hands its own message back, to be freed on the reactor's thread.
    ASSERT_NE(c.message, nullptr);
    EXPECT_EQ(c.message->envelope.queue_id.view(), "Q" + std::to_string(c.slot));
    EXPECT_EQ(c.message->content.view(), content_of(static_cast<int>(c.slot)));
  }
  EXPECT_EQ(writer.stats().records.load(), 200u);
  EXPECT_LE(writer.stats().syncs.load(), 200u);  // group commit: never more syncs than records
  std::map<std::string, std::string> stored;
  const auto problems = SpoolReader(dir_.string()).scan([&](const SpoolRecord& r) {
    stored[std::string(r.view.header.queue_id.view())] = std::string(r.view.message);
  });
  EXPECT_TRUE(problems.empty());
  ASSERT_EQ(stored.size(), 200u);
  EXPECT_EQ(stored["Q3"], std::string(100, 'd'));
}

TEST_F(SpoolWriterTest, RecoveryCutsATornTailAndKeepsWholeRecords) {
  ASSERT_NO_FATAL_FAILURE(store_all_stored(options(), 10));
  const auto segment = SpoolReader(dir_.string()).segments().at(0);
  const auto whole = std::filesystem::file_size(segment);
  {  // a crash in the middle of a write: half a record at the end
    std::ofstream append(segment, std::ios::binary | std::ios::app);
    append << "MXR1" << std::string(300, 'z');
  }
  SpoolWriter writer(options(), {&channel_});
  ASSERT_EQ(writer.open(), "");
  EXPECT_EQ(std::filesystem::file_size(segment), whole);
  writer.start();
  store(10, 5);  // storing goes on, in a fresh segment after the recovered one
  writer.stop();
  std::size_t records = 0;
  EXPECT_TRUE(SpoolReader(dir_.string()).scan([&](const SpoolRecord&) { ++records; }).empty());
  EXPECT_EQ(records, 15u);
}

// A crash leaves a prepared segment as it was: the last whole records, maybe a torn one, and
// the zeros it was prepared with up to its full size. Recovery keeps the records, cuts the
// rest, and storing goes on in a fresh prepared segment.
TEST_F(SpoolWriterTest, RecoveryOfAPreparedSegmentCutsATornRecordAndTheZeros) {
  const auto o = options();
  ASSERT_NO_FATAL_FAILURE(store_all_stored(o, 10));
  const auto segment = SpoolReader(dir_.string()).segments().at(0);
  const auto whole = std::filesystem::file_size(segment);
  {
    std::ofstream append(segment, std::ios::binary | std::ios::app);
    append << "MXR1" << std::string(300, 'z');
  }
  std::filesystem::resize_file(segment, o.segment_size);  // the zeros beyond, as prepared
  SpoolWriter writer(o, {&channel_});
  ASSERT_EQ(writer.open(), "");
  EXPECT_EQ(std::filesystem::file_size(segment), whole);
  writer.start();
  store(10, 5);
  const auto segments = SpoolReader(dir_.string()).segments();
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(std::filesystem::file_size(segments[1]), o.segment_size);  // prepared
  writer.stop();
  EXPECT_EQ(stored_queue_ids().size(), 15u);
}

// A record the disk returns changed before the previous run's commit point was acknowledged:
// recovery must not take it for a torn tail and cut it, and the records behind it, away.
TEST_F(SpoolWriterTest, RecoveryNeverCutsDamageBeforeTheCommitPoint) {
  ASSERT_NO_FATAL_FAILURE(store_all_stored(options(), 10));
  const auto segment = SpoolReader(dir_.string()).segments().at(0);
  const auto before = file_bytes(segment);
  {  // one octet of the third record's message
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(before.find(std::string(100, 'c')) + 50));
    f.put('!');
  }
  SpoolWriter writer(options(), {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  store(10, 5);
  writer.stop();
  auto after = file_bytes(segment);
  ASSERT_EQ(after.size(), before.size());  // nothing cut
  after[before.find(std::string(100, 'c')) + 50] = 'c';
  EXPECT_EQ(after, before);
  std::vector<std::string> ids;
  const auto problems = SpoolReader(dir_.string()).scan([&](const SpoolRecord& r) {
    ids.emplace_back(r.view.header.queue_id.view());
  });
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].segment, segment);
  EXPECT_EQ(problems[0].status, spool::ParseStatus::corrupt);
  EXPECT_EQ(ids, (std::vector<std::string>{"Q0", "Q1", "Q10", "Q11", "Q12", "Q13", "Q14"}));
}

// A segment that cannot be prepared (here a directory holds the preparer's file name; in
// life, a disk without room for a whole segment) is grown by appending instead: nothing is
// refused for it.
TEST_F(SpoolWriterTest, WithoutAPreparedSegmentItAppends) {
  const auto o = options();
  std::filesystem::create_directories(std::filesystem::path(o.directory) / ".prepared");
  SpoolWriter writer(o, {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  const auto done = store(0, 50);
  ASSERT_EQ(done.size(), 50u);
  for (const auto& c : done) EXPECT_EQ(c.result, StorageResult::stored);
  const auto segment = SpoolReader(dir_.string()).segments().at(0);
  // Appended: the file ends where the answered records end.
  EXPECT_EQ(std::filesystem::file_size(segment), read_commit_point(o.directory)->offset);
  EXPECT_LT(std::filesystem::file_size(segment), o.segment_size);
  writer.stop();
  EXPECT_EQ(stored_queue_ids().size(), 50u);
}

// A file whose name only looks like a segment's (not sixteen lower-case hexadecimal digits,
// as mxringd names them) is neither a reason to refuse to start nor a segment: the writer
// numbers on from the real ones, and readers skip it. Read as a number, "-000000000000001"
// would be segment ffffffffffffffff, "000000000000000A" segment a: the writer would number on
// from the first and wrap, and readers would read the second's namesake twice.
TEST_F(SpoolWriterTest, AFileNamedLikeASegmentIsNotTakenForOne) {
  ASSERT_NO_FATAL_FAILURE(store_all_stored(options(), 3));
  const std::filesystem::path directory = options().directory;
  const auto first = SpoolReader(dir_.string()).segments().front();
  std::ofstream(directory / "zzzzzzzzzzzzzzzz.seg") << "not a segment";
  std::ofstream(directory / "copy-of-first.seg") << "not a segment either";
  for (const char* lookalike : {"-000000000000001.seg", "+000000000000001.seg",
                                " 000000000000001.seg", "000000000000000A.seg"})
    std::filesystem::copy_file(first, directory / lookalike);
  SpoolWriter writer(options(), {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  store(3, 2);
  writer.stop();
  const auto segments = SpoolReader(dir_.string()).segments();
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(std::filesystem::path(segments.back()).filename(), "0000000000000002.seg");
  EXPECT_EQ(stored_queue_ids().size(), 5u);
  EXPECT_TRUE(SpoolReader(dir_.string()).scan([](const SpoolRecord&) {}).empty());
}

// Writer directories are named by their number as mxringd writes it: a copy named "00" beside
// "0" is not writer 0 again, and its records are not read twice.
TEST_F(SpoolWriterTest, ADirectoryNamedLikeAWritersIsNotTakenForOne) {
  ASSERT_NO_FATAL_FAILURE(store_all_stored(options(), 3));
  std::filesystem::copy(options().directory, dir_ / "00");
  std::filesystem::copy(options().directory, dir_ / "1x");
  EXPECT_EQ(spool_writers(dir_.string()), std::vector<unsigned>{0});
  EXPECT_EQ(stored_queue_ids().size(), 3u);
}

// A buffered writer's next segment is a zero-filled one while its syncs are small; once a
// segment's syncs averaged over 128 KiB, or it had none (durability none), the next one is
// appended to instead. A live prepared segment is as long as a whole segment; an appended one
// ends where its records end.
TEST_F(SpoolWriterTest, ANextSegmentIsPreparedOnlyWhileItsSyncsAreSmall) {
  const auto o = options(256u << 10);
  SpoolWriter writer(o, {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  const auto live_size = [&] {
    return std::filesystem::file_size(SpoolReader(dir_.string()).segments().back());
  };
  const auto stored = [](const std::vector<StoreCompletion>& done) {
    return std::all_of(done.begin(), done.end(),
                       [](const StoreCompletion& c) { return c.result == StorageResult::stored; });
  };
  int next = 0;
  // Small syncs, one message each, over a few segments.
  for (; next < 600; ++next) ASSERT_TRUE(stored(store(next, 1, 1000)));
  EXPECT_GE(SpoolReader(dir_.string()).segments().size(), 3u);
  EXPECT_EQ(live_size(), o.segment_size);
  // Syncs of 200 KiB: within two rotations, the writer appends.
  for (const auto end = next + 4; next < end; ++next)
    ASSERT_TRUE(stored(store(next, 1, 200 << 10)));
  EXPECT_EQ(live_size(), read_commit_point(o.directory)->offset);
  EXPECT_LT(live_size(), o.segment_size);
  // Small syncs again: prepared again from the next segment on.
  for (const auto end = next + 600; next < end; ++next) ASSERT_TRUE(stored(store(next, 1, 1000)));
  EXPECT_EQ(live_size(), o.segment_size);
  // Durability none: nothing to sync, nothing to gain from zeros.
  for (const auto end = next + 600; next < end; ++next)
    ASSERT_TRUE(stored(store(next, 1, 1000, /*sync=*/false)));
  EXPECT_EQ(live_size(), read_commit_point(o.directory)->offset);
  writer.stop();
  EXPECT_EQ(stored_queue_ids().size(), static_cast<std::size_t>(next));
}

// A segment zero-filled ahead is at most max_prepared_size long and rotates past that; one
// grown by appending goes on to segment_size.
TEST_F(SpoolWriterTest, APreparedSegmentHoldsAtMostTheMaxPreparedSize) {
  auto o = options(1u << 20);
  o.max_prepared_size = 64u << 10;
  SpoolWriter writer(o, {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  int next = 0;
  for (; next < 300; ++next) store(next, 1, 1000);  // small syncs: prepared segments
  const auto prepared = SpoolReader(dir_.string()).segments();
  EXPECT_GE(prepared.size(), 4u);
  for (const auto& segment : prepared)  // final ones cut to their records
    EXPECT_LE(std::filesystem::file_size(segment), o.max_prepared_size + 2048u) << segment;
  EXPECT_EQ(std::filesystem::file_size(prepared.back()), o.max_prepared_size);    // the live one
  for (const auto end = next + 8; next < end; ++next) store(next, 1, 200 << 10);  // appending
  writer.stop();
  std::uintmax_t largest = 0;
  for (const auto& segment : SpoolReader(dir_.string()).segments())
    largest = std::max(largest, std::filesystem::file_size(segment));
  EXPECT_GT(largest, 512u << 10);
  EXPECT_EQ(stored_queue_ids().size(), static_cast<std::size_t>(next));
}

TEST_P(SpoolWriterIoTest, SegmentsRotateBySize) {
  SpoolWriter writer(options(4096), {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  // One message at a time: a batch is one write, so a segment ends between batches (it
  // exceeds the size by at most its last batch; with direct I/O, a batch padded to 4096
  // fills a segment).
  for (int i = 0; i < 30; ++i) store(i, 1, 1000);
  writer.stop();
  const auto segments = SpoolReader(dir_.string()).segments();
  EXPECT_GE(segments.size(), 5u);
  for (const auto& s : segments) EXPECT_LE(std::filesystem::file_size(s), 4096u + 2048u);
  std::size_t records = 0;
  EXPECT_TRUE(SpoolReader(dir_.string()).scan([&](const SpoolRecord&) { ++records; }).empty());
  EXPECT_EQ(records, 30u);
}

// Every message is answered, each in the order it was handed over (the reactor relies on
// that), and the commit point covers exactly what was answered.
TEST_P(SpoolWriterIoTest, SyncsInFlightAnswerInWriteOrder) {
  auto o = options(segment_size() * 8);
  SpoolWriter writer(o, {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  const auto done = store(0, 3000);
  const auto commit = read_commit_point(o.directory);
  const auto segment = SpoolReader(dir_.string()).segments().at(0);
  ASSERT_TRUE(commit.has_value());
  // The live segment is zero-filled ahead, and the commit point ends the last batch: its
  // last record, or with direct I/O its padding (the records end within the 4096 octets
  // before it). Stopping cuts the zeros beyond it.
  std::uint64_t records_end = 0;
  SpoolReader(dir_.string()).scan([&](const SpoolRecord& r) {
    records_end = r.offset + *spool::record_length(r.view.header.envelope_length,
                                                   r.view.header.message_length);
  });
  EXPECT_EQ(std::filesystem::file_size(segment), o.segment_size);
  if (direct_io_) {
    EXPECT_EQ(commit->offset % 4096, 0u);
    EXPECT_LT(commit->offset - records_end, 4096u);
  } else {
    EXPECT_EQ(commit->offset, records_end);
  }
  writer.stop();
  EXPECT_EQ(std::filesystem::file_size(segment), read_commit_point(o.directory)->offset);
  ASSERT_EQ(done.size(), 3000u);
  for (std::size_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].slot, i);
    EXPECT_EQ(done[i].result, StorageResult::stored);
  }
  EXPECT_GT(writer.stats().syncs.load(), 1u);
  const auto order = stored_queue_ids();
  ASSERT_EQ(order.size(), 3000u);
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], "Q" + std::to_string(i));
}

// The disk reports a writeback error (EIO) to a sync, or to one direct write: nothing that
// sync could have covered (nothing written since the last answered batch) is acknowledged,
// the octets are cut, and the writer goes on in a new segment.
//
// The failed sync is modelled as the kernel reports one. Each sync thread has a descriptor
// of its own, so a lost page is reported by every sync of that file that looks after the
// loss (errseq_t), not by one call picked by number: with syncs in flight a sync started
// later can enter fdatasync first, and if the fault hit only the call that entered sixth it
// could hit a sync whose batches an earlier-entering one had already made durable (nothing
// left to refuse). So the fault strikes, from the sixth sync on, the first one that can
// cover a batch no earlier-entering sync could (the writer starts a sync only after counting
// the batches it covers), and every later sync of that file fails too.
struct FailingDisk {
  std::mutex lock;
  const WriterStats* writer = nullptr;
  int syncs_before_failure = 0;
  std::uint64_t batches_seen = 0;  // the most batches written when an earlier sync entered
  ino_t lost = 0;                  // the file whose page was lost; 0 before the fault
  int writes_until_failure = 0;    // direct I/O: the write that fails (1: the next)
};
FailingDisk failing_disk;

int failing_sync(int fd) {
  struct stat file {};
  if (fstat(fd, &file) != 0) return -1;
  {
    const std::lock_guard<std::mutex> hold(failing_disk.lock);
    auto& disk = failing_disk;
    const auto batches = disk.writer->batches.load(std::memory_order_relaxed);
    const bool strikes =
        disk.lost == 0 && --disk.syncs_before_failure <= 0 && batches > disk.batches_seen;
    if (strikes) disk.lost = file.st_ino;
    disk.batches_seen = std::max(disk.batches_seen, batches);
    if (disk.lost == file.st_ino) {
      errno = EIO;
      return -1;
    }
  }
  return fdatasync(fd);
}
ssize_t failing_write(int fd, const void* data, std::size_t size, off_t offset) {
  {
    const std::lock_guard<std::mutex> hold(failing_disk.lock);
    if (--failing_disk.writes_until_failure == 0) {
      errno = EIO;
      return -1;
    }
  }
  return pwrite(fd, data, size, offset);
}

TEST_P(SpoolWriterIoTest, AFailedSyncAcknowledgesNothingItCovered) {
  // Room for all 800 messages even if each were a batch of its own (a slow writer, e.g. under
  // TSan; direct I/O pads every batch to 4096 octets): only the failure may start a segment.
  auto o = options(segment_size() * 4);
  o.sync_file = failing_sync;
  o.write_at = failing_write;
  SpoolWriter writer(o, {&channel_});
  ASSERT_EQ(writer.open(), "");
  {
    const std::lock_guard<std::mutex> hold(failing_disk.lock);
    failing_disk.writer = &writer.stats();
    failing_disk.syncs_before_failure = 6;
    failing_disk.batches_seen = 0;
    failing_disk.lost = 0;
    failing_disk.writes_until_failure = 6;
  }
  writer.start();
  std::vector<StoreCompletion> done;
  for (int i = 0; i < 40; ++i)
    for (auto& c : store(i * 20, 20)) done.push_back(std::move(c));
  writer.stop();
  std::set<std::string> acknowledged, refused;
  for (const auto& c : done)
    (c.result == StorageResult::stored ? acknowledged : refused)
        .insert("Q" + std::to_string(c.slot));
  EXPECT_FALSE(refused.empty());
  EXPECT_EQ(acknowledged.size() + refused.size(), 800u);
  for (const auto& c : done)
    EXPECT_TRUE(c.result == StorageResult::stored || c.result == StorageResult::temporary_failure);
  EXPECT_EQ(writer.stats().failures.load(), 1u);
  // The spool holds exactly the acknowledged messages, in two segments.
  const auto ids = stored_queue_ids();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), acknowledged);
  EXPECT_EQ(ids.size(), acknowledged.size());
  EXPECT_EQ(SpoolReader(dir_.string()).segments().size(), 2u);
}

// Which thread makes each batch durable: with one in flight the writer itself (a thread of
// its own would only add a wake-up and a switch each way), with more its sync threads.
std::mutex durable_threads_lock;
std::set<std::string> durable_threads;
void note_durable_thread() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  const std::lock_guard<std::mutex> lock(durable_threads_lock);
  durable_threads.insert(name);
}
int noting_sync(int fd) {
  note_durable_thread();
  return fdatasync(fd);
}
ssize_t noting_write(int fd, const void* data, std::size_t size, off_t offset) {
  note_durable_thread();
  return pwrite(fd, data, size, offset);
}

TEST_P(SpoolWriterIoTest, OneInFlightIsRunByTheWriterMoreBySyncThreads) {
  auto o = options(segment_size());
  o.sync_file = noting_sync;
  o.write_at = noting_write;
  durable_threads.clear();
  ASSERT_NO_FATAL_FAILURE(store_all_stored(o, 500));
  ASSERT_FALSE(durable_threads.empty());
  for (const auto& name : durable_threads)
    EXPECT_EQ(name.rfind(o.syncs_in_flight == 1 ? "mx-writer-" : "mx-sync-", 0), 0u) << name;
}

INSTANTIATE_TEST_SUITE_P(EveryWay, SpoolWriterIoTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(1u, 4u)), io_name);

// Direct I/O after a crash: batches in flight reach the disk in any order, so the live segment
// may hold a batch beyond one never written, and zeros prepared beyond both. Recovery keeps the
// answered batches, drops the rest (never acknowledged), makes the segment final and goes on
// in a new one; the spool then reads back exactly what was acknowledged.
TEST_F(SpoolWriterTest, DirectIoRecoveryStopsAtAnUnwrittenBatch) {
  if (!use_direct_io()) GTEST_SKIP() << "no file system here takes O_DIRECT";
  std::optional<CommitPoint> commit;
  {
    SpoolWriter writer(options(1 << 20), {&channel_});
    ASSERT_EQ(writer.open(), "");
    writer.start();
    store(0, 10);
    commit = read_commit_point(options().directory);
    const auto live = SpoolReader(dir_.string()).segments();
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(std::filesystem::file_size(live[0]), 1u << 20);  // zero-filled ahead
  }  // a clean stop cuts the zeros; the crash below leaves a hole instead
  auto segments = SpoolReader(dir_.string()).segments();
  ASSERT_EQ(segments.size(), 1u);
  ASSERT_TRUE(commit.has_value());
  EXPECT_EQ(std::filesystem::file_size(segments[0]), commit->offset);
  EXPECT_EQ(commit->offset % 4096, 0u);
  {  // a later batch that reached the disk while the one before it did not
    const auto lost = message(99);
    const auto later = spool::encode_record_prefix(*lost, 0) + std::string(lost->content.view());
    std::fstream file(segments[0], std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(static_cast<std::streamoff>(commit->offset + 4096));
    file << later;
  }
  SpoolWriter writer(options(1 << 20), {&channel_});
  ASSERT_EQ(writer.open(), "");
  EXPECT_EQ(std::filesystem::file_size(segments[0]), commit->offset);  // final, cut
  writer.start();
  store(10, 5);
  writer.stop();
  segments = SpoolReader(dir_.string()).segments();
  EXPECT_EQ(segments.size(), 2u);
  std::vector<std::string> want;
  for (int i = 0; i < 15; ++i) want.push_back("Q" + std::to_string(i));
  EXPECT_EQ(stored_queue_ids(), want);
}

// A buffered fsync writer keeps the last 16 MiB it synced in the page cache (for the readers
// that follow the spool) and lets the pages behind them go, so new records reuse pages
// instead of taking fresh memory; every record still reads back.
TEST_F(SpoolWriterTest, SyncedPagesFarBehindTheNewestRecordLeaveThePageCache) {
  if (in_memory_file_system(dir_.parent_path().c_str())) {  // the build tree's disk instead
    dir_ = std::filesystem::current_path() / dir_.filename();
    std::filesystem::remove_all(dir_);
  }
  const auto o = options(64u << 20);
  SpoolWriter writer(o, {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  constexpr int kMessages = 400;  // 64 KiB each: 25 MiB and their headers
  for (int i = 0; i < kMessages; i += 8)
    for (const auto& c : store(i, 8, 64 << 10)) ASSERT_EQ(c.result, StorageResult::stored);
  const auto segment = SpoolReader(dir_.string()).segments().at(0);
  const auto end = read_commit_point(o.directory)->offset;
  ASSERT_GT(end, 25u << 20);
  const int fd = ::open(segment.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const auto resident = resident_pages(fd, end);
  close(fd);
  const auto page = page_size();
  const auto cached = [&](std::uint64_t from, std::uint64_t to) {
    std::size_t n = 0;
    for (auto i = from / page; i < to / page; ++i) n += resident[i];
    return n;
  };
  EXPECT_EQ(cached(0, 4u << 20), 0u) << "the oldest synced pages are still cached";
  EXPECT_EQ(cached(end - (8u << 20), end), (8u << 20) / page) << "the newest are not";
  writer.stop();
  EXPECT_EQ(stored_queue_ids().size(), static_cast<std::size_t>(kMessages));
}

// The maildir sink: every message a file in new/ (Return-Path, then the content exactly),
// nothing left in tmp/.
TEST_F(SpoolWriterTest, MaildirGetsOneFilePerMessage) {
  auto o = options();
  o.maildir = (dir_ / "Maildir").string();
  ASSERT_NO_FATAL_FAILURE(store_all_stored(o, 40));
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "Maildir" / "new")) {
    const auto content = file_bytes(entry.path().string());
    ASSERT_TRUE(content.starts_with("Return-Path: <a@client.example>\r\n"));
    EXPECT_EQ(content.size(), 33u + 100u);
    ++files;
  }
  EXPECT_EQ(files, 40u);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "Maildir" / "tmp"));
  EXPECT_TRUE(std::filesystem::is_directory(dir_ / "Maildir" / "cur"));
}

// A host name's '/' would make a file name a path, its ':' would start the info part that
// readers append flags after: the specification writes them \057 and \072.
TEST(MaildirNameTest, HostPartEscapesWhatAFileNameCannotHold) {
  EXPECT_EQ(maildir_host_part("mx1.example"), "mx1.example");
  EXPECT_EQ(maildir_host_part("a/b:c"), "a\\057b\\072c");
  EXPECT_EQ(maildir_host_name().find_first_of("/:"), std::string::npos);
}

}  // namespace
}  // namespace mxring::engine
