// Following a spool: SpoolStream hands on only committed records (the writer's commit marker
// while it runs, every whole record when none runs), crosses segment rotation, resumes from a
// saved cursor exactly, stops at corruption and reports gaps; cursor files and retention.
#include "mxring/engine/spool_stream.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <filesystem>
#include <fstream>

#include "mxring/engine/spool_cursor_file.h"
#include "mxring/engine/spool_retention.h"
#include "spool_test_records.h"
#include "storage/commit_marker.h"
#include "temp_file.h"

namespace mxring::engine {
namespace {

namespace fs = std::filesystem;

class SpoolStreamTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(root_ / "0"); }

  // Appends a record with queue id `id` to segment `sequence` of writer 0; returns its end.
  std::uint64_t append(std::uint64_t sequence, const std::string& id, std::size_t size = 100) {
    const auto path = segment_path((root_ / "0").string(), sequence);
    test::append_record(path, id, std::string(size, 'x'));
    return fs::file_size(path);
  }

  std::vector<std::string> read_all(SpoolStream& stream) {
    std::vector<std::string> ids;
    stream.poll([&](const StreamedRecord& r) {
      ids.emplace_back(r.view.header.queue_id.view());
      return true;
    });
    return ids;
  }

  test::TempDirectory scratch_{"mxring-stream"};
  fs::path root_ = scratch_.path();
};

using Ids = std::vector<std::string>;

TEST_F(SpoolStreamTest, WithoutAWriterEveryWholeRecordIsCommittedAndATornTailWaits) {
  append(1, "a");
  append(1, "b");
  append(2, "c");
  {
    std::ofstream torn(segment_path((root_ / "0").string(), 2), std::ios::app);
    torn << "MXR1 partial";
  }
  SpoolStream stream(root_.string(), {});
  EXPECT_EQ(read_all(stream), (Ids{"a", "b", "c"}));
  EXPECT_TRUE(stream.take_problems().empty());  // a torn last record is a write in progress
  EXPECT_EQ(read_all(stream), Ids{});
}

TEST_F(SpoolStreamTest, WhileAWriterRunsOnlyWhatItPublishedIsHandedOn) {
  CommitMarker marker;
  ASSERT_EQ(marker.open((root_ / "0").string()), "");
  const auto a_end = append(1, "a");
  append(1, "b");  // written, not yet synced
  marker.publish({1, a_end});
  SpoolStream stream(root_.string(), {});
  EXPECT_EQ(read_all(stream), Ids{"a"});
  const auto b_end = fs::file_size(segment_path((root_ / "0").string(), 1));
  marker.publish({1, b_end});
  EXPECT_EQ(read_all(stream), Ids{"b"});
  // Rotation: segment 2 exists but nothing in it is committed yet.
  const auto c_end = append(2, "c");
  EXPECT_EQ(read_all(stream), Ids{});
  marker.publish({2, c_end});
  EXPECT_EQ(read_all(stream), Ids{"c"});
  EXPECT_EQ(stream.cursor().at(0), (SpoolPosition{2, c_end}));
}

// The marker keeps 24 bits of the segment sequence beside a 40-bit offset (one atomic word):
// a writer that has rotated 2^24 times (129 days of 64 MiB segments at 100 MB/s; hours with
// small ones) is read on, its sequence taken from the newest segment listed.
TEST_F(SpoolStreamTest, AWriterPastTwoToTheTwentyFourSegmentsIsReadOn) {
  constexpr std::uint64_t kWrap = std::uint64_t{1} << 24;
  CommitMarker marker;
  ASSERT_EQ(marker.open((root_ / "0").string()), "");
  const auto a_end = append(kWrap - 1, "a");
  marker.publish({kWrap - 1, a_end});
  SpoolStream stream(root_.string(), {});
  EXPECT_EQ(read_all(stream), Ids{"a"});
  const auto b_end = append(kWrap, "b");
  append(kWrap, "c");  // written, not yet synced
  marker.publish({kWrap, b_end});
  EXPECT_EQ(read_all(stream), Ids{"b"});
  const auto d_end = append(kWrap + 1, "d");
  marker.publish({kWrap + 1, d_end});
  EXPECT_EQ(read_all(stream), (Ids{"c", "d"}));
  EXPECT_EQ(stream.cursor().at(0), (SpoolPosition{kWrap + 1, d_end}));
}

TEST(CommitMarkerSequence, IsTheNewestWithItsLowBitsAtMostOnePastTheNewestListed) {
  constexpr std::uint64_t kWrap = std::uint64_t{1} << 24;
  EXPECT_EQ(full_sequence(5, 5), 5u);
  EXPECT_EQ(full_sequence(4, 5), 4u);  // rotated, nothing committed in the new one yet
  EXPECT_EQ(full_sequence(6, 5), 6u);  // an empty newest segment removed by recovery
  EXPECT_EQ(full_sequence(0, 3), 0u);  // a starting writer's "nothing yet"
  EXPECT_EQ(full_sequence(0, kWrap), kWrap);
  EXPECT_EQ(full_sequence(kWrap - 1, kWrap), kWrap - 1);
  EXPECT_EQ(full_sequence(1, kWrap), kWrap + 1);
  EXPECT_EQ(full_sequence(3, 5 * kWrap + 3), 5 * kWrap + 3);
  EXPECT_EQ(full_sequence(kWrap - 1, 5 * kWrap + 3), 5 * kWrap - 1);
}

TEST_F(SpoolStreamTest, ASecondWriterOnTheSameDirectoryIsRefused) {
  CommitMarker first, second;
  ASSERT_EQ(first.open((root_ / "0").string()), "");
  EXPECT_NE(second.open((root_ / "0").string()).find("another mxringd"), std::string::npos);
}

TEST_F(SpoolStreamTest, ARefusedRecordIsHandedOnAgainAndACursorResumesExactly) {
  for (const char* id : {"a", "b", "c", "d"}) append(1, id);
  append(2, "e");
  SpoolStream stream(root_.string(), {});
  Ids seen;
  stream.poll([&](const StreamedRecord& r) {
    if (seen.size() == 2) return false;
    seen.emplace_back(r.view.header.queue_id.view());
    return true;
  });
  EXPECT_EQ(seen, (Ids{"a", "b"}));
  SpoolStream resumed(root_.string(), stream.cursor());
  EXPECT_EQ(read_all(resumed), (Ids{"c", "d", "e"}));
  EXPECT_EQ(read_all(stream), (Ids{"c", "d", "e"}));
}

TEST_F(SpoolStreamTest, RecordsLargerThanTheReadChunkComeWhole) {
  append(1, "small");
  append(1, "huge", 9u << 20);
  append(1, "after");
  SpoolStream stream(root_.string(), {});
  std::vector<std::size_t> sizes;
  stream.poll([&](const StreamedRecord& r) {
    sizes.push_back(r.view.message.size());
    return true;
  });
  EXPECT_EQ(sizes, (std::vector<std::size_t>{100, 9u << 20, 100}));
}

TEST_F(SpoolStreamTest, CorruptionStopsThatWritersStreamAndIsReported) {
  append(1, "a");
  const auto b_end = append(1, "b");
  append(2, "c");
  {
    std::fstream f(segment_path((root_ / "0").string(), 1),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(b_end - 3));
    f.put('!');
  }
  fs::create_directories(root_ / "1");
  const auto other = segment_path((root_ / "1").string(), 1);
  fs::copy_file(segment_path((root_ / "0").string(), 2), other);
  SpoolStream stream(root_.string(), {});
  EXPECT_EQ(read_all(stream), (Ids{"a", "c"}));  // writer 0 stops at b; writer 1 goes on
  const auto problems = stream.take_problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].status, spool::ParseStatus::corrupt);
  EXPECT_FALSE(problems[0].gap);
}

// A damaged message length whose sum with the others wraps to fewer octets than a header: the
// stream must neither read past the segment nor step backwards; it reports corruption.
TEST_F(SpoolStreamTest, ALengthThatWrapsIsCorruptionNotAShortRecord) {
  const auto a_end = append(1, "a");
  append(1, "b");
  {
    std::fstream f(segment_path((root_ / "0").string(), 1),
                   std::ios::in | std::ios::out | std::ios::binary);
    std::uint32_t envelope_length;
    f.seekg(static_cast<std::streamoff>(a_end + 12));
    f.read(reinterpret_cast<char*>(&envelope_length), 4);
    const std::uint64_t wraps_to_10 = 0 - std::uint64_t{spool::kHeaderSize} - envelope_length + 10;
    f.seekp(static_cast<std::streamoff>(a_end + 16));
    f.write(reinterpret_cast<const char*>(&wraps_to_10), 8);
  }
  SpoolStream stream(root_.string(), {});
  EXPECT_EQ(read_all(stream), Ids{"a"});
  const auto problems = stream.take_problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].status, spool::ParseStatus::corrupt);
  EXPECT_EQ(problems[0].offset, a_end);
}

TEST_F(SpoolStreamTest, ACursorWhoseSegmentWasDeletedIsToldOfTheGap) {
  append(1, "a");
  append(2, "b");
  append(3, "c");
  SpoolCursor cursor{{0, {1, 0}}};
  fs::remove(segment_path((root_ / "0").string(), 1));
  fs::remove(segment_path((root_ / "0").string(), 2));
  SpoolStream stream(root_.string(), cursor);
  EXPECT_EQ(read_all(stream), Ids{"c"});
  const auto problems = stream.take_problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(problems[0].gap);
}

TEST_F(SpoolStreamTest, CursorFilesRoundTripAndRefuseGarbage) {
  const auto path = (root_ / "cursor").string();
  std::string error;
  EXPECT_EQ(load_cursor(path, error), SpoolCursor{});  // missing: start at the beginning
  const SpoolCursor cursor{{0, {3, 4096}}, {7, {1, 0}}};
  ASSERT_TRUE(save_cursor(path, cursor, error)) << error;
  EXPECT_EQ(load_cursor(path, error), cursor);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  std::ofstream(path) << "mxring-cursor 1\n0 3\n";
  EXPECT_EQ(load_cursor(path, error), std::nullopt);
  EXPECT_NE(error.find("malformed"), std::string::npos);
  // A negative number would read as the largest one: a cursor past every segment.
  for (const char* garbage : {"0 -1 0", "0 3 -5", "-1 3 0", "0 3 4096 9", "0 3 4096x", " 0 3 1",
                              "0  3 1", "0 3 99999999999999999999"}) {
    std::ofstream(path) << "mxring-cursor 1\n" << garbage << "\n";
    EXPECT_EQ(load_cursor(path, error), std::nullopt) << garbage;
  }
  std::ofstream(path) << "something else\n";
  EXPECT_EQ(load_cursor(path, error), std::nullopt);
  EXPECT_EQ(cursor_path("/spool", "name"), "/spool/cursors/name");
  EXPECT_EQ(cursor_path("/spool", "./elsewhere"), "./elsewhere");
}

TEST_F(SpoolStreamTest, RetentionWaitsForEveryRegisteredCursorAndKeepsTheLastSegment) {
  append(1, "a");
  append(2, "b");
  append(3, "c");
  const auto writer = (root_ / "0").string();
  fs::create_directories(root_ / "cursors");
  std::string error;
  ASSERT_TRUE(save_cursor((root_ / "cursors" / "fast").string(), {{0, {3, 0}}}, error));
  ASSERT_TRUE(save_cursor((root_ / "cursors" / "slow").string(), {{0, {2, 10}}}, error));
  auto report = apply_retention(root_.string(), 0);
  EXPECT_EQ(report.deleted, std::vector<std::string>{segment_path(writer, 1)});
  ASSERT_EQ(report.held.size(), 1u);
  EXPECT_NE(report.held[0].find("held by cursor slow"), std::string::npos);
  // Young segments stay whatever the cursors say.
  ASSERT_TRUE(save_cursor((root_ / "cursors" / "slow").string(), {{0, {3, 0}}}, error));
  EXPECT_TRUE(apply_retention(root_.string(), 3600).deleted.empty());
  report = apply_retention(root_.string(), 0);
  EXPECT_EQ(report.deleted, std::vector<std::string>{segment_path(writer, 2)});
  EXPECT_TRUE(fs::exists(segment_path(writer, 3)));  // a writer's last segment is never deleted
  // An unreadable cursor might need anything: nothing is deleted.
  append(4, "d");
  std::ofstream(root_ / "cursors" / "broken") << "junk";
  report = apply_retention(root_.string(), 0);
  EXPECT_TRUE(report.deleted.empty());
  EXPECT_EQ(report.errors.size(), 1u);
}

}  // namespace
}  // namespace mxring::engine
