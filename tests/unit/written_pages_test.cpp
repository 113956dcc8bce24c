// A log file's written pages leave the page cache a step later, whole pages only; what the
// file held before, and anything not a regular file, is left alone. Residency is read
// with mincore(2), which does not fault pages in.
#include "written_pages.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "page_residency.h"

namespace mxring::engine {
namespace {

constexpr std::size_t kBatch = 64 * 1024 + 100;  // batches that end inside a page
// Most tests step a batch at a time: each batch is dropped once the next is written.
constexpr std::uint64_t kBatchStep = kBatch;

class WrittenPagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The build directory: a disk file system, where clean pages can be dropped (tmpfs
    // pages cannot: they are the file).
    path_ = "written_pages_test." + std::to_string(getpid());
    fd_ = open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd_, 0);
    if (in_memory_file_system(path_.c_str()))
      GTEST_SKIP() << "the build directory is in memory: its pages cannot be dropped";
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }

  void append(WrittenPages& pages, char fill) {
    const std::string batch(kBatch, fill);
    ASSERT_EQ(write(fd_, batch.data(), batch.size()), static_cast<ssize_t>(batch.size()));
    pages.appended(batch.size());
  }

  std::vector<bool> resident() const {
    return resident_pages(fd_, static_cast<std::size_t>(lseek(fd_, 0, SEEK_END)));
  }

  std::string path_;
  int fd_ = -1;
};

TEST_F(WrittenPagesTest, DropsEachBatchOnceTheNextIsWritten) {
  WrittenPages pages(kBatchStep);
  pages.follow(fd_);
  for (const char fill : {'a', 'b', 'c', 'd'}) append(pages, fill);
  const auto page = page_size();
  const auto in = resident();
  // Whole pages of the first three batches are gone; the last batch is still cached.
  const std::size_t dropped_pages = 3 * kBatch / page;
  for (std::size_t i = 0; i < dropped_pages; ++i) EXPECT_FALSE(in[i]) << "page " << i;
  EXPECT_TRUE(in.back());
  // Dropped, not lost: every octet reads back.
  std::string back(4 * kBatch, '\0');
  ASSERT_EQ(pread(fd_, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  for (std::size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], "abcd"[i / kBatch]) << i;
}

TEST_F(WrittenPagesTest, WaitsForAWholeStep) {
  // Three batches make a step: the first step is dropped once the second is complete.
  WrittenPages pages(3 * kBatch);
  pages.follow(fd_);
  for (const char fill : {'a', 'b', 'c', 'd', 'e'}) append(pages, fill);
  const auto page = page_size();
  auto in = resident();
  for (std::size_t i = 0; i < 5 * kBatch / page; ++i) EXPECT_TRUE(in[i]) << "page " << i;
  append(pages, 'f');
  in = resident();
  for (std::size_t i = 0; i < 3 * kBatch / page; ++i) EXPECT_FALSE(in[i]) << "page " << i;
  for (std::size_t i = 3 * kBatch / page + 1; i < in.size(); ++i)
    EXPECT_TRUE(in[i]) << "page " << i;
}

TEST_F(WrittenPagesTest, LeavesWhatTheFileHeldBefore) {
  const std::string earlier(4 * kBatch, 'x');
  ASSERT_EQ(write(fd_, earlier.data(), earlier.size()), static_cast<ssize_t>(earlier.size()));
  WrittenPages pages(kBatchStep);
  pages.follow(fd_);
  for (const char fill : {'a', 'b', 'c'}) append(pages, fill);
  const auto page = page_size();
  const auto in = resident();
  for (std::size_t i = 0; i < earlier.size() / page; ++i) EXPECT_TRUE(in[i]) << "page " << i;
  EXPECT_FALSE(in[(earlier.size() + kBatch) / page]);  // inside the first batch of ours
}

TEST_F(WrittenPagesTest, FollowsAFileCutUnderIt) {
  WrittenPages pages(kBatchStep);
  pages.follow(fd_);
  for (const char fill : {'a', 'b', 'c'}) append(pages, fill);
  ASSERT_EQ(ftruncate(fd_, 0), 0);  // logrotate's copytruncate
  for (const char fill : {'d', 'e', 'f'}) append(pages, fill);
  const auto page = page_size();
  const auto in = resident();
  ASSERT_EQ(in.size(), (3 * kBatch + page - 1) / page);
  for (std::size_t i = 0; i < 2 * kBatch / page; ++i) EXPECT_FALSE(in[i]) << "page " << i;
}

TEST(WrittenPagesPipeTest, LeavesAPipeAlone) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  WrittenPages pages;
  pages.follow(pipe_fds[1]);
  ASSERT_EQ(write(pipe_fds[1], "line\n", 5), 5);
  pages.appended(5);  // no file offset, nothing to drop: and the line is still there
  char back[8] = {};
  EXPECT_EQ(read(pipe_fds[0], back, sizeof back), 5);
  EXPECT_STREQ(back, "line\n");
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

}  // namespace
}  // namespace mxring::engine
