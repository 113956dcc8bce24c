// A fresh empty file under /tmp for a test to have written, removed when the test ends, and
// what was written to it read back whole; and a fresh directory, removed with what it holds.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace mxring::test {

class TempFile {
 public:
  explicit TempFile(const std::string& prefix = "mxring-test") {
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    const int fd = ::mkstemp(pattern.data());
    EXPECT_GE(fd, 0) << "mkstemp " << pattern;
    if (fd >= 0) ::close(fd);
    path_ = pattern;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }
  std::string text() const {
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string path_;
};

class TempDirectory {
 public:
  explicit TempDirectory(const std::string& prefix = "mxring-test") {
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~TempDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mxring::test
