// The spool writer on a real file system: group commit answers every message, records read
// back byte-identical, a torn tail is cut at recovery, segments rotate by size, syncs in
// flight answer in write order, and a failed sync acknowledges nothing it covered.
#include "storage/spool_writer.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "mxring/engine/spool_reader.h"
#include "storage/commit_marker.h"

namespace mxring::engine {
namespace {

class SpoolWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mxring-writer-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    wake_fd_ = eventfd(0, EFD_CLOEXEC);
    channel_.reactor_wake_fd = wake_fd_;
  }
  void TearDown() override {
    close(wake_fd_);
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Message> message(int i, std::size_t size = 100) {
    auto m = std::make_unique<Message>();
    m->envelope.queue_id = QueueId("Q" + std::to_string(i));
    m->envelope.mail_from = "a@client.example";
    m->envelope.recipients.push_back({"b@mx.example", 0, ""});
    m->content.append(std::string(size, static_cast<char>('a' + i % 26)));
    return m;
  }

  // Stores `count` messages, keeping at most the ring's capacity outstanding as a reactor
  // does, and returns every answer.
  std::vector<StoreCompletion> store(int first, int count, std::size_t size = 100) {
    std::vector<StoreCompletion> done;
    std::size_t outstanding = 0;
    const auto collect = [&] {
      outstanding -=
          channel_.completions.pop_batch(SIZE_MAX, [&](StoreCompletion&& c) { done.push_back(c); });
    };
    for (int i = first; i < first + count; ++i) {
      while (outstanding >= channel_.requests.capacity()) collect();
      StoreRequest r{message(i, size), static_cast<std::uint32_t>(i), 7, true};
      if (!channel_.requests.try_push(r)) {
        ADD_FAILURE() << "ring full with " << outstanding << " outstanding";
        return done;
      }
      ++outstanding;
      writer_signal()->notify();
    }
    while (done.size() < static_cast<std::size_t>(count)) collect();
    return done;
  }
  WriterSignal* writer_signal() { return channel_.writer; }

  SpoolWriterOptions options(std::uint64_t segment_size = 64ull << 20) {
    SpoolWriterOptions o;
    o.directory = (dir_ / "0").string();
    o.segment_size = segment_size;
    return o;
  }

  // Queue ids of every record in the spool, in segment and file order; the scan must find no
  // problem.
  std::vector<std::string> stored_queue_ids() const {
    std::vector<std::string> ids;
    EXPECT_TRUE(
        SpoolReader(dir_.string())
            .scan([&](const SpoolRecord& r) { ids.emplace_back(r.view.header.queue_id.view()); })
            .empty());
    return ids;
  }

  std::filesystem::path dir_;
  int wake_fd_ = -1;
  StorageChannel channel_{64};
};

TEST_F(SpoolWriterTest, StoresAndAnswersEveryMessage) {
  SpoolWriter writer(options(), {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  const auto done = store(0, 200);
  writer.stop();
  for (const auto& c : done) EXPECT_EQ(c.result, StorageResult::stored);
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
  {
    SpoolWriter writer(options(), {&channel_});
    ASSERT_EQ(writer.open(), "");
    writer.start();
    store(0, 10);
  }
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
  store(10, 5);  // appending goes on after the last whole record
  writer.stop();
  std::size_t records = 0;
  EXPECT_TRUE(SpoolReader(dir_.string()).scan([&](const SpoolRecord&) { ++records; }).empty());
  EXPECT_EQ(records, 15u);
}

TEST_F(SpoolWriterTest, SegmentsRotateBySize) {
  SpoolWriter writer(options(4096), {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  // One message at a time: a batch is one write, so a segment ends between batches (it
  // exceeds the size by at most its last batch).
  for (int i = 0; i < 30; ++i) store(i, 1, 1000);
  writer.stop();
  const auto segments = SpoolReader(dir_.string()).segments();
  EXPECT_GE(segments.size(), 5u);
  for (const auto& s : segments) EXPECT_LE(std::filesystem::file_size(s), 4096u + 2048u);
  std::size_t records = 0;
  EXPECT_TRUE(SpoolReader(dir_.string()).scan([&](const SpoolRecord&) { ++records; }).empty());
  EXPECT_EQ(records, 30u);
}

// Four syncs in flight: every message is answered, each in the order it was handed over
// (the reactor relies on that), and the commit point covers exactly what was answered.
TEST_F(SpoolWriterTest, SyncsInFlightAnswerInWriteOrder) {
  auto o = options();
  o.syncs_in_flight = 4;
  SpoolWriter writer(o, {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  const auto done = store(0, 3000);
  const auto commit = read_commit_point(o.directory);
  const auto segment = SpoolReader(dir_.string()).segments().at(0);
  ASSERT_TRUE(commit.has_value());
  EXPECT_EQ(commit->offset, std::filesystem::file_size(segment));
  writer.stop();
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

// The disk reports a writeback error to one sync (EIO): nothing that sync could have covered
// is acknowledged, the octets are cut, and the writer goes on in a new segment.
std::atomic<int> syncs_until_failure{0};
int failing_sync(int fd) {
  if (syncs_until_failure.fetch_sub(1) == 1) {
    errno = EIO;
    return -1;
  }
  return fdatasync(fd);
}

TEST_F(SpoolWriterTest, AFailedSyncAcknowledgesNothingItCovered) {
  auto o = options();
  o.syncs_in_flight = 3;
  o.sync_file = failing_sync;
  SpoolWriter writer(o, {&channel_});
  ASSERT_EQ(writer.open(), "");
  syncs_until_failure = 6;
  writer.start();
  std::vector<StoreCompletion> done;
  for (int i = 0; i < 40; ++i)
    for (const auto& c : store(i * 20, 20)) done.push_back(c);
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

// The maildir sink: every message a file in new/ (Return-Path, then the content exactly),
// nothing left in tmp/.
TEST_F(SpoolWriterTest, MaildirGetsOneFilePerMessage) {
  auto o = options();
  o.maildir = (dir_ / "Maildir").string();
  SpoolWriter writer(o, {&channel_});
  ASSERT_EQ(writer.open(), "");
  writer.start();
  const auto done = store(0, 40);
  writer.stop();
  for (const auto& c : done) EXPECT_EQ(c.result, StorageResult::stored);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "Maildir" / "new")) {
    std::ifstream file(entry.path(), std::ios::binary);
    const std::string content((std::istreambuf_iterator<char>(file)), {});
    ASSERT_TRUE(content.starts_with("Return-Path: <a@client.example>\r\n"));
    EXPECT_EQ(content.size(), 33u + 100u);
    ++files;
  }
  EXPECT_EQ(files, 40u);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ / "Maildir" / "tmp"));
  EXPECT_TRUE(std::filesystem::is_directory(dir_ / "Maildir" / "cur"));
}

}  // namespace
}  // namespace mxring::engine
