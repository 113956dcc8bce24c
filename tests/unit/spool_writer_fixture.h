// The spool writer's test fixture: a directory of its own, one reactor's channel, messages
// numbered Q0, Q1, ... and stored the way a reactor stores them. SpoolWriterIoTest runs a
// test with each way of writing and syncing.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "storage/spool_writer.h"

namespace mxring::engine {

inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class SpoolWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A parameterised test's name holds a '/': flattened, so the process id stays in the
    // last component (use_direct_io() keeps only that) and runs in parallel never share.
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');
    dir_ = std::filesystem::temp_directory_path() /
           ("mxring-writer-" + std::to_string(getpid()) + "-" + name);
    std::filesystem::remove_all(dir_);
    wake_fd_ = eventfd(0, EFD_CLOEXEC);
    channel_.reactor_wake_fd = wake_fd_;
  }
  void TearDown() override {
    close(wake_fd_);
    std::filesystem::remove_all(dir_);
  }

  // Message Qi's content.
  static std::string content_of(int i, std::size_t size = 100) {
    return std::string(size, static_cast<char>('a' + i % 26));
  }

  std::unique_ptr<Message> message(int i, std::size_t size = 100) {
    auto m = std::make_unique<Message>();
    m->envelope.queue_id = QueueId("Q" + std::to_string(i));
    m->envelope.mail_from = "a@client.example";
    m->envelope.recipients.push_back({"b@mx.example", 0, ""});
    m->content.append(content_of(i, size));
    return m;
  }

  // Stores `count` messages, keeping at most the ring's capacity outstanding as a reactor
  // does, and returns every answer.
  // `sync`: durability fsync (else none).
  // `on_answer`: called with each answer as it arrives.
  std::vector<StoreCompletion> store(
      int first, int count, std::size_t size = 100, bool sync = true,
      const std::function<void(const StoreCompletion&)>& on_answer = {}) {
    std::vector<StoreCompletion> done;
    std::size_t outstanding = 0;
    const auto collect = [&] {
      outstanding -= channel_.completions.pop_batch(SIZE_MAX, [&](StoreCompletion&& c) {
        if (on_answer) on_answer(c);
        done.push_back(std::move(c));
      });
    };
    for (int i = first; i < first + count; ++i) {
      while (outstanding >= channel_.requests.capacity()) collect();
      StoreRequest r{message(i, size), static_cast<std::uint32_t>(i), 7, sync};
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

  // A writer with `o` from start to stop over `count` messages, every one answered stored.
  void store_all_stored(const SpoolWriterOptions& o, int count) {
    SpoolWriter writer(o, {&channel_});
    ASSERT_EQ(writer.open(), "");
    writer.start();
    const auto done = store(0, count);
    writer.stop();
    EXPECT_EQ(done.size(), static_cast<std::size_t>(count));
    for (const auto& c : done) EXPECT_EQ(c.result, StorageResult::stored);
  }

  // Small segments: each is zero-filled ahead (SegmentPreparer).
  SpoolWriterOptions options(std::uint64_t segment_size = 4u << 20) {
    SpoolWriterOptions o;
    o.directory = (dir_ / "0").string();
    o.segment_size = segment_size;
    o.direct_io = direct_io_;
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

  // Direct I/O needs a file system that takes O_DIRECT (tmpfs, a RAM-backed /tmp, does not):
  // the build tree's is tried next. False when neither does.
  bool use_direct_io() {
    direct_io_ = true;
    if (has_direct_io(dir_.parent_path())) return true;
    dir_ = std::filesystem::current_path() / dir_.filename();
    std::filesystem::remove_all(dir_);
    return has_direct_io(dir_.parent_path());
  }
  static bool has_direct_io(const std::filesystem::path& directory) {
    const auto probe = directory / ("mxring-direct-probe-" + std::to_string(getpid()));
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    unlink(probe.c_str());
    return fd >= 0;
  }

  std::filesystem::path dir_;
  int wake_fd_ = -1;
  StorageChannel channel_{64};
  bool direct_io_ = false;
};

// The same with each way of writing (pwritev + fdatasync, or direct I/O) and each way of
// running the syncs: by the writer itself (1 in flight) or on sync threads (several).
class SpoolWriterIoTest : public SpoolWriterTest,
                          public ::testing::WithParamInterface<std::tuple<bool, unsigned>> {
 protected:
  void SetUp() override {
    SpoolWriterTest::SetUp();
    if (std::get<0>(GetParam()) && !use_direct_io())
      GTEST_SKIP() << "no file system here takes O_DIRECT";
  }
  SpoolWriterOptions options(std::uint64_t segment_size) {
    auto o = SpoolWriterTest::options(segment_size);
    o.syncs_in_flight = std::get<1>(GetParam());
    return o;
  }
  std::uint64_t segment_size() const { return 1u << 20; }
};

inline std::string io_name(const ::testing::TestParamInfo<std::tuple<bool, unsigned>>& info) {
  return std::string(std::get<0>(info.param) ? "direct" : "buffered") + "_" +
         std::to_string(std::get<1>(info.param)) + "_in_flight";
}

}  // namespace mxring::engine
