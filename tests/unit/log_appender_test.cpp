// The log file through direct I/O: lines held until a step gathers or the writer settles,
// then every octet in the file exactly once and in order, none of it left in the page cache;
// a file that changed behind the writer (copytruncate, another appender) taken up where it
// now ends; a replaced file ending with whole lines; a failed direct write falling back to
// plain appends without losing a line.
#include "log_appender.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <string>

#include "page_residency.h"

namespace mxring::engine {
namespace {

constexpr std::size_t kStep = LogAppender::kDirectStep;

// Lines of `length` octets in all, numbered so that a lost, doubled or moved one shows.
std::string lines(std::size_t length, char tag) {
  std::string out;
  for (std::size_t n = 0; out.size() < length; ++n)
    out += "{\"tag\":\"" + std::string(1, tag) + "\",\"n\":" + std::to_string(n) + "}\n";
  out.resize(length);
  if (length > 0) out.back() = '\n';
  return out;
}

// Equal octets, or the sizes and where they first differ (gtest's own diff of megabytes of
// lines would take gigabytes).
::testing::AssertionResult same(const std::string& actual, const std::string& expected) {
  if (actual == expected) return ::testing::AssertionSuccess();
  const auto shorter = std::min(actual.size(), expected.size());
  const auto at =
      std::mismatch(actual.begin(), actual.begin() + static_cast<long>(shorter), expected.begin())
          .first -
      actual.begin();
  return ::testing::AssertionFailure() << actual.size() << " octets against " << expected.size()
                                       << " expected, first difference at octet " << at;
}

class LogAppenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The build directory: a disk file system (tmpfs may refuse O_DIRECT).
    path_ = "log_appender_test." + std::to_string(getpid());
    open_files(path_, fd_, direct_fd_);
    if (direct_fd_ < 0) GTEST_SKIP() << "the build directory's file system refuses O_DIRECT";
  }
  void TearDown() override {
    for (const int fd : {fd_, direct_fd_, other_fd_, other_direct_fd_})
      if (fd >= 0) close(fd);
    unlink(path_.c_str());
    if (!other_path_.empty()) unlink(other_path_.c_str());
  }

  static void open_files(const std::string& path, int& fd, int& direct_fd) {
    fd = open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);  // read: mincore
    ASSERT_GE(fd, 0);
    direct_fd = open(path.c_str(), O_WRONLY | O_APPEND | O_DIRECT | O_CLOEXEC);
  }

  static std::string contents(const std::string& path) {
    std::string out;
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    char chunk[1 << 16];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) out.append(chunk, static_cast<std::size_t>(n));
    close(fd);
    return out;
  }
  std::string contents() const { return contents(path_); }

  // Appends `text` and settles, so that the file has it all; returns `text`.
  static std::string settled(LogAppender& appender, std::string text) {
    appender.append(text);
    appender.settle();
    return text;
  }

  std::uint64_t file_size() const {
    struct stat st {};
    EXPECT_EQ(fstat(fd_, &st), 0);
    return static_cast<std::uint64_t>(st.st_size);
  }

  std::string path_, other_path_;
  int fd_ = -1, direct_fd_ = -1, other_fd_ = -1, other_direct_fd_ = -1;
};

TEST_F(LogAppenderTest, HoldsLinesUntilSettled) {
  LogAppender appender;
  appender.follow(fd_, direct_fd_);
  ASSERT_TRUE(appender.direct());
  const auto first = lines(1000, 'a');
  appender.append(first);
  EXPECT_EQ(file_size(), 0u);  // less than a block: held
  EXPECT_TRUE(appender.holding());
  appender.settle();
  EXPECT_FALSE(appender.holding());
  EXPECT_TRUE(same(contents(), first));
  // Settled again with nothing new: nothing changes.
  appender.settle();
  EXPECT_TRUE(same(contents(), first));
}

TEST_F(LogAppenderTest, AStepIsWrittenUpToItsLastLineEnd) {
  LogAppender appender;
  appender.follow(fd_, direct_fd_);
  const auto text = lines(kStep + 100, 'a');
  appender.append(text);
  // The step's whole lines are written (its whole blocks direct); the line it cut waits.
  const auto written = text.rfind('\n', kStep - 1) + 1;
  EXPECT_EQ(file_size(), written);
  EXPECT_GT(written, kStep - 100);
  EXPECT_TRUE(same(contents(), text.substr(0, written)));
  appender.settle();
  EXPECT_TRUE(same(contents(), text));
}

TEST_F(LogAppenderTest, EveryOctetOnceAndInOrderWhateverTheBatches) {
  LogAppender appender;
  appender.follow(fd_, direct_fd_);
  std::mt19937 random(7);
  std::string expected;
  for (int batch = 0; batch < 60; ++batch) {
    const auto text = lines(1 + random() % (300 << 10), static_cast<char>('a' + batch % 26));
    appender.append(text);
    expected += text;
    if (random() % 3 == 0) {
      appender.settle();
      ASSERT_TRUE(same(contents(), expected)) << "batch " << batch;
    } else {
      // Held octets are never more than a step, and what is written is a prefix.
      const auto written = file_size();
      ASSERT_GE(written + kStep, expected.size()) << "batch " << batch;
      ASSERT_TRUE(same(contents(), expected.substr(0, written))) << "batch " << batch;
    }
  }
  appender.settle();
  EXPECT_TRUE(same(contents(), expected));
  EXPECT_TRUE(appender.direct());
}

TEST_F(LogAppenderTest, LeavesTheFileOutOfThePageCache) {
  if (in_memory_file_system(path_.c_str())) GTEST_SKIP() << "the file system is in memory";
  LogAppender appender;
  appender.follow(fd_, direct_fd_);
  for (char tag : {'a', 'b', 'c', 'd'}) appender.append(lines(kStep - 77, tag));
  appender.settle();
  const auto in = resident_pages(fd_, static_cast<std::size_t>(file_size()));
  std::size_t cached = 0;
  for (const bool page : in) cached += page;
  // At most the partial blocks of the last two steps and of the settle, which went through
  // the page cache.
  EXPECT_LE(cached, 3u);
  EXPECT_GT(in.size(), 900u);
}

TEST_F(LogAppenderTest, TakesUpAFileThatAlreadyHoldsLines) {
  const auto before = lines(5000, 'o');  // ends inside a block
  ASSERT_EQ(write(fd_, before.data(), before.size()), static_cast<ssize_t>(before.size()));
  LogAppender appender;
  appender.follow(fd_, direct_fd_);
  const auto text = settled(appender, lines(kStep + 9000, 'n'));
  EXPECT_TRUE(same(contents(), before + text));
}

TEST_F(LogAppenderTest, StartsAgainAtTheEndOfATruncatedFile) {
  // logrotate's copytruncate: the file is copied, then cut to nothing behind the writer.
  LogAppender appender;
  appender.follow(fd_, direct_fd_);
  settled(appender, lines(2 * kStep + 123, 'a'));
  ASSERT_EQ(truncate(path_.c_str(), 0), 0);
  const auto after = settled(appender, lines(3000, 'b'));
  // No hole of zeros where the old lines were, and none of them written again.
  EXPECT_TRUE(same(contents(), after));
  const auto more = settled(appender, lines(kStep + 5, 'c'));
  EXPECT_TRUE(same(contents(), after + more));
}

TEST_F(LogAppenderTest, ACopyTruncatedFileHoldsWholeLinesOnBothSides) {
  // copytruncate under load: copied after a step was written, then cut. The copy ends with a
  // whole line, and the cut file starts with one.
  LogAppender appender;
  appender.follow(fd_, direct_fd_);
  const auto first = lines(kStep + 1000, 'a');
  appender.append(first);
  const auto copy = contents();
  ASSERT_EQ(copy.back(), '\n');
  ASSERT_EQ(truncate(path_.c_str(), 0), 0);
  const auto more = settled(appender, lines(3000, 'b'));
  EXPECT_TRUE(same(copy + contents(), first + more));
  EXPECT_EQ(contents().substr(0, 6), "{\"tag\"");
}

TEST_F(LogAppenderTest, DoesNotOverwriteWhatAnotherProcessAppended) {
  LogAppender appender;
  appender.follow(fd_, direct_fd_);
  const auto first = settled(appender, lines(6000, 'a'));
  const int other = open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(other, 0);
  const std::string theirs = "a line someone else appended\n";
  ASSERT_EQ(write(other, theirs.data(), theirs.size()), static_cast<ssize_t>(theirs.size()));
  close(other);
  const auto second = settled(appender, lines(kStep + 4000, 'b'));
  EXPECT_TRUE(same(contents(), first + theirs + second));
}

TEST_F(LogAppenderTest, AFileEndsWithItsLinesBeforeTheNextStarts) {
  // SIGHUP after rotation: lines held past a step's last line end go to the old file first,
  // so that it has all its lines and the new file starts with a whole line.
  LogAppender appender;
  appender.follow(fd_, direct_fd_);
  const auto first = lines(kStep + 1000, 'a');
  appender.append(first);
  ASSERT_GT(file_size(), kStep - 100);  // a step written, up to its last line end
  other_path_ = path_ + ".new";
  open_files(other_path_, other_fd_, other_direct_fd_);
  appender.follow(other_fd_, other_direct_fd_);
  EXPECT_TRUE(same(contents(), first));
  const auto second = settled(appender, lines(9000, 'b'));
  EXPECT_TRUE(same(contents(other_path_), second));
  EXPECT_TRUE(same(contents(), first));  // nothing more for the old file
}

TEST_F(LogAppenderTest, AFailedDirectWriteLosesNoLine) {
  // A descriptor that cannot write: every direct write fails, as on a file system that
  // turns the alignment down, or on EIO.
  const int read_only = open(path_.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  ASSERT_GE(read_only, 0);
  LogAppender appender;
  appender.follow(fd_, read_only);
  const auto first = lines(kStep + 3000, 'a');
  appender.append(first);
  EXPECT_FALSE(appender.direct());
  EXPECT_TRUE(same(contents(), first));  // appended through the page cache instead, at once
  const auto second = lines(500, 'b');
  appender.append(second);
  EXPECT_TRUE(same(contents(), first + second));
  close(read_only);
}

TEST(LogAppender, APipeIsWrittenAtOnce) {
  int ends[2];
  ASSERT_EQ(pipe2(ends, O_CLOEXEC | O_NONBLOCK), 0);
  LogAppender appender;
  appender.follow(ends[1], ends[1]);  // not a regular file: never direct
  EXPECT_FALSE(appender.direct());
  const auto text = lines(2000, 'p');
  appender.append(text);  // no settle needed
  std::string back(4096, '\0');
  const auto n = read(ends[0], back.data(), back.size());
  ASSERT_EQ(n, static_cast<ssize_t>(text.size()));
  back.resize(static_cast<std::size_t>(n));
  EXPECT_EQ(back, text);
  close(ends[0]);
  close(ends[1]);
}

}  // namespace
}  // namespace mxring::engine
