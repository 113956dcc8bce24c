// Reading a spool directory: every record in order (scan), and one record by queue id (find),
// which checks only the CRC of the record it returns and reports damage on the way.
#include "mxring/engine/spool_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mxring/engine/spool_stream.h"
#include "spool_test_records.h"
#include "temp_file.h"

namespace mxring::engine {
namespace {

namespace fs = std::filesystem;

class SpoolReaderTest : public ::testing::Test {
 protected:
  // Appends a record whose content is `body` to segment `sequence` of `writer`; returns the
  // record's offset.
  std::uint64_t append(unsigned writer, std::uint64_t sequence, const std::string& id,
                       const std::string& body) {
    const auto directory = root_ / std::to_string(writer);
    fs::create_directories(directory);
    return test::append_record(segment_path(directory.string(), sequence), id, body);
  }

  // Flips one octet of the file at `path`, `offset` octets in.
  static void damage(const fs::path& path, std::uint64_t offset) {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekg(static_cast<std::streamoff>(offset));
    const char octet = static_cast<char>(file.get() ^ 0x40);
    file.seekp(static_cast<std::streamoff>(offset));
    file.put(octet);
  }

  // find's answer: the message of `id`, or nothing, and the problems it reported.
  std::optional<std::string> find(const std::string& id,
                                  std::vector<SpoolProblem>* problems_out = nullptr) {
    std::optional<std::string> message;
    std::vector<SpoolProblem> problems;
    const bool found =
        SpoolReader(root_.string())
            .find(
                id, [&](const SpoolRecord& r) { message = std::string(r.view.message); }, problems);
    EXPECT_EQ(found, message.has_value());
    if (problems_out != nullptr) *problems_out = problems;
    return message;
  }

  test::TempDirectory scratch_{"mxring-reader"};
  fs::path root_ = scratch_.path();
};

TEST_F(SpoolReaderTest, FindsARecordInAnySegmentOfAnyWriter) {
  append(0, 1, "a", "first");
  append(0, 1, "b", "second");
  append(0, 2, "c", std::string(70000, 'c'));
  append(1, 1, "d", "fourth");
  append(1, 1, "e", "fifth");
  EXPECT_EQ(find("a"), "first");
  EXPECT_EQ(find("c"), std::string(70000, 'c'));
  EXPECT_EQ(find("e"), "fifth");
  std::vector<SpoolProblem> problems;
  EXPECT_EQ(find("f", &problems), std::nullopt);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(find("d1"), std::nullopt);  // ids compare whole, not as prefixes
}

// Only the record asked for is checked: damage inside another record's content does not hide
// the one asked for (its header still leads on), and damage inside the one asked for is
// reported, its message never handed out.
TEST_F(SpoolReaderTest, ChecksTheCrcOfTheRecordItReturns) {
  append(0, 1, "a", "first");
  const auto b = append(0, 1, "b", "second");
  const auto c = append(0, 1, "c", "third");
  const auto segment = segment_path((root_ / "0").string(), 1);
  damage(segment, b - 2);  // inside a's content
  EXPECT_EQ(find("c"), "third");
  // scan checks every CRC: the same damage stops it at a.
  std::vector<std::string> seen;
  const auto scanned = SpoolReader(root_.string()).scan([&](const SpoolRecord& r) {
    seen.emplace_back(r.view.header.queue_id.view());
  });
  EXPECT_TRUE(seen.empty());
  ASSERT_EQ(scanned.size(), 1u);
  EXPECT_EQ(scanned[0].status, spool::ParseStatus::corrupt);
  damage(segment, fs::file_size(segment) - 2);  // inside c's content
  std::vector<SpoolProblem> problems;
  EXPECT_EQ(find("c", &problems), std::nullopt);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].status, spool::ParseStatus::corrupt);
  EXPECT_EQ(problems[0].segment, segment);
  EXPECT_EQ(problems[0].offset, c);
}

// A damaged header ends the search in its segment (the records behind it cannot be reached),
// which find reports; other segments are still searched.
TEST_F(SpoolReaderTest, ADamagedHeaderIsReportedAndOtherSegmentsStillSearched) {
  append(0, 1, "a", "first");
  const auto b = append(0, 1, "b", "second");
  append(0, 1, "c", "third");
  append(0, 2, "d", "fourth");
  damage(segment_path((root_ / "0").string(), 1), b);  // b's magic
  std::vector<SpoolProblem> problems;
  EXPECT_EQ(find("c", &problems), std::nullopt);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].offset, b);
  EXPECT_EQ(problems[0].status, spool::ParseStatus::corrupt);
  EXPECT_EQ(find("d"), "fourth");
}

// Padding (zeros to the next 4096-octet boundary, or to the end of a prepared segment) is
// stepped over; records after padding that runs to the end are a torn tail, never returned.
TEST_F(SpoolReaderTest, StepsOverPaddingAndNeverReturnsATornTail) {
  append(0, 1, "a", "first");
  const auto segment = segment_path((root_ / "0").string(), 1);
  fs::resize_file(segment, 4096);  // padding to the boundary
  append(0, 1, "b", "second");
  EXPECT_EQ(find("b"), "second");
  fs::resize_file(segment, 4 * 4096);  // a prepared segment's zeros, then a torn batch
  append(0, 1, "z", "never acknowledged");
  std::vector<SpoolProblem> problems;
  EXPECT_EQ(find("z", &problems), std::nullopt);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].status, spool::ParseStatus::truncated);
  EXPECT_TRUE(problems[0].last_segment);
  EXPECT_EQ(find("a"), "first");
}

// Segments are read a window at a time (segment_window.h), not whole: records that straddle
// the window's chunks, and one larger than a chunk, come back whole and in order.
TEST_F(SpoolReaderTest, ReadsRecordsAcrossTheWindowsChunks) {
  std::vector<std::string> bodies;
  for (char c = 'a'; c < 'a' + 30; ++c) bodies.push_back(std::string(300001, c));
  bodies.insert(bodies.begin() + 20, std::string(9u << 20, '!'));
  for (std::size_t i = 0; i < bodies.size(); ++i) append(0, 1, "id" + std::to_string(i), bodies[i]);
  std::vector<std::string> read;
  const auto problems = SpoolReader(root_.string()).scan([&](const SpoolRecord& r) {
    read.emplace_back(r.view.message);
  });
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(read, bodies);
  EXPECT_EQ(find("id30"), bodies[30]);
  EXPECT_EQ(find("id20"), bodies[20]);
}

// A zero run longer than the window (a segment zero-filled ahead) is read through to its end:
// a batch written after it is still found, and reported as the torn tail it is.
TEST_F(SpoolReaderTest, FindsATornBatchBehindZerosLongerThanTheWindow) {
  append(0, 1, "a", "first");
  const auto segment = segment_path((root_ / "0").string(), 1);
  const auto end_of_a = fs::file_size(segment);
  const std::uint64_t torn_at = 13u << 20;  // past three chunks of zeros
  fs::resize_file(segment, torn_at);
  append(0, 1, "z", "never acknowledged");
  std::vector<std::string> ids;
  const auto problems = SpoolReader(root_.string()).scan([&](const SpoolRecord& r) {
    ids.emplace_back(r.view.message);
  });
  EXPECT_EQ(ids, std::vector<std::string>{"first"});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].status, spool::ParseStatus::truncated);
  EXPECT_EQ(problems[0].offset, end_of_a);
  // Zeros alone to the end are no damage.
  fs::resize_file(segment, torn_at);
  EXPECT_TRUE(SpoolReader(root_.string()).scan([](const SpoolRecord&) {}).empty());
}

}  // namespace
}  // namespace mxring::engine
