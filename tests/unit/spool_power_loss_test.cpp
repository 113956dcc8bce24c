// Power loss, modelled. A kill -9 leaves the page cache, and with it every write, so it cannot
// tell a writer that answers after its fdatasync from one that answers before. Here the disk
// keeps only what a sync made durable: the writer's sync hook records each file as it was when
// an fdatasync began, once that fdatasync returns (and its direct-write hook each O_DSYNC write
// once it returned). At several points of a run the test takes those durable images with the
// answers received so far; afterwards each image is recovered in a directory of its own — as
// the disk kept it, and again with random pages of the writes no sync covered reaching the disk
// as well — and every message answered stored before the cut must read back byte for byte.
//
// Directory entries are taken as durable: the model covers what the writer orders with its
// fdatasyncs, not the file system's own metadata.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <shared_mutex>
#include <string>

#include "mxring/engine/spool_reader.h"
#include "spool_writer_fixture.h"

namespace mxring::engine {
namespace {

// What a power cut would leave of each file the writer synced, by path.
struct Image {
  std::uint64_t taken = 0;  // snapshots finish out of order: the latest-taken one counts
  std::string octets;
};
std::mutex durable_lock;
std::map<std::string, Image> durable;
std::uint64_t snapshots = 0;
// A cut is one instant: while it takes its images no sync or direct write returns (the hooks
// hold this shared from the moment theirs returned, the cut exclusively). Otherwise a write
// returning between its durable images and its page-cache ones would be in neither as it
// was, and the writer, going on, could open the next segment: the page-cache images would
// then hold that write half landed beside a segment the writer opens only once every write
// of the one before is durable. Syncs and writes still start and run during a cut.
std::shared_mutex cut_lock;

std::string path_of(int fd) {
  char path[512];
  const auto n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), path, sizeof path);
  return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : std::string();
}

// Every write that returned before an fdatasync began is durable once it returns.
int imaging_sync(int fd) {
  std::uint64_t taken;
  {
    const std::lock_guard<std::mutex> lock(durable_lock);
    taken = ++snapshots;
  }
  const auto path = path_of(fd);
  auto octets = file_bytes(path);
  const int rc = fdatasync(fd);
  const std::shared_lock<std::shared_mutex> not_cut(cut_lock);
  if (rc == 0) {
    const std::lock_guard<std::mutex> lock(durable_lock);
    auto& image = durable[path];
    if (image.taken < taken) image = {taken, std::move(octets)};
  }
  return rc;
}

// An O_DIRECT | O_DSYNC write is durable once it returns.
ssize_t imaging_write(int fd, const void* data, std::size_t size, off_t offset) {
  const auto n = pwrite(fd, data, size, offset);
  const std::shared_lock<std::shared_mutex> not_cut(cut_lock);
  if (n > 0) {
    const std::lock_guard<std::mutex> lock(durable_lock);
    auto& octets = durable[path_of(fd)].octets;
    const auto end = static_cast<std::size_t>(offset) + static_cast<std::size_t>(n);
    if (octets.size() < end) octets.resize(end);
    std::memcpy(octets.data() + offset, data, static_cast<std::size_t>(n));
  }
  return n;
}

struct Cut {
  std::set<std::uint32_t> acknowledged;      // slots answered stored before the cut
  std::map<std::string, std::string> disk;   // durable images, by path
  std::map<std::string, std::string> cache;  // the files as the page cache had them
  std::string committed;                     // the commit marker's file
};

class SpoolPowerLossTest : public SpoolWriterIoTest {
 protected:
  // Stores `count` messages, cutting the power (on paper) after every `every` answers.
  std::vector<Cut> run_with_cuts(SpoolWriterOptions o, int count, int every) {
    {
      const std::lock_guard<std::mutex> lock(durable_lock);
      durable.clear();
    }
    o.sync_file = imaging_sync;
    o.write_at = imaging_write;
    std::vector<Cut> cuts;
    std::set<std::uint32_t> acknowledged;
    SpoolWriter writer(o, {&channel_});
    EXPECT_EQ(writer.open(), "");
    writer.start();
    store(0, count, 100, true, [&](const StoreCompletion& c) {
      if (c.result == StorageResult::stored) acknowledged.insert(c.slot);
      if (acknowledged.size() % every != 0 || acknowledged.empty()) return;
      Cut cut;
      cut.acknowledged = acknowledged;
      // The marker first: each value it took was durable once published, and the images
      // taken after it only grow.
      cut.committed = file_bytes(o.directory + "/committed");
      const std::lock_guard<std::shared_mutex> instant(cut_lock);
      {
        const std::lock_guard<std::mutex> lock(durable_lock);
        for (const auto& [path, image] : durable) cut.disk[path] = image.octets;
      }
      for (const auto& entry : std::filesystem::directory_iterator(o.directory))
        cut.cache[entry.path().string()] = file_bytes(entry.path().string());
      cuts.push_back(std::move(cut));
    });
    writer.stop();
    EXPECT_EQ(acknowledged.size(), static_cast<std::size_t>(count));
    return cuts;
  }

  // Lays out what the disk kept in `root`/0, recovers it with a writer of `o`, and checks that
  // every acknowledged message is there, byte for byte, and the spool reads cleanly.
  void recover_and_check(const Cut& cut, const std::map<std::string, std::string>& disk,
                         SpoolWriterOptions o, const std::filesystem::path& root) {
    const auto from = dir_.string();
    for (const auto& [path, octets] : disk) {
      ASSERT_EQ(path.rfind(from, 0), 0u) << path;
      const auto to = root / std::filesystem::path(path.substr(from.size() + 1));
      std::filesystem::create_directories(to.parent_path());
      std::ofstream(to, std::ios::binary) << octets;
    }
    std::filesystem::create_directories(root / "0");
    std::ofstream(root / "0" / "committed", std::ios::binary) << cut.committed;
    o.directory = (root / "0").string();
    o.sync_file = ::fdatasync;
    o.write_at = ::pwrite;
    {
      SpoolWriter writer(o, {&channel_});
      ASSERT_EQ(writer.open(), "");
      writer.start();
      writer.stop();
    }
    std::map<std::uint32_t, std::string> stored;
    const auto problems = SpoolReader(root.string()).scan([&](const SpoolRecord& r) {
      const auto id = r.view.header.queue_id.view();
      stored[static_cast<std::uint32_t>(std::stoul(std::string(id.substr(1))))] =
          std::string(r.view.message);
    });
    for (const auto& problem : problems)
      ADD_FAILURE() << problem.segment << " unreadable at " << problem.offset;
    for (const auto slot : cut.acknowledged) {
      const auto found = stored.find(slot);
      ASSERT_NE(found, stored.end()) << "Q" << slot << " was acknowledged, then lost in " << root;
      EXPECT_EQ(found->second, content_of(static_cast<int>(slot)));
    }
  }

  // The durable images with a random half of the pages that differ in the page cache laid
  // over them: writes no sync covered may reach the disk, in any order, a page at a time.
  static std::map<std::string, std::string> with_stray_pages(const Cut& cut, std::mt19937& random) {
    auto disk = cut.disk;
    constexpr std::size_t kPage = 4096;
    for (const auto& [path, cached] : cut.cache) {
      if (path.ends_with("/committed")) continue;
      auto& octets = disk[path];
      for (std::size_t at = 0; at < cached.size(); at += kPage) {
        const auto n = std::min(kPage, cached.size() - at);
        const bool same = at + n <= octets.size() && octets.compare(at, n, cached, at, n) == 0;
        if (same || random() % 2 == 0) continue;
        if (octets.size() < at + n) octets.resize(at + n);
        octets.replace(at, n, cached, at, n);
      }
    }
    return disk;
  }

  void check_every_cut(const SpoolWriterOptions& o) {
    const auto cuts = run_with_cuts(o, 3000, 250);
    ASSERT_GE(cuts.size(), 10u);
    std::mt19937 random(2024);
    for (std::size_t i = 0; i < cuts.size(); ++i) {
      const auto name = "cut-" + std::to_string(i);
      ASSERT_NO_FATAL_FAILURE(recover_and_check(cuts[i], cuts[i].disk, o, dir_ / (name + "-disk")));
      ASSERT_NO_FATAL_FAILURE(recover_and_check(cuts[i], with_stray_pages(cuts[i], random), o,
                                                dir_ / (name + "-stray")));
    }
  }
};

// Small segments: the run crosses several, each zero-filled ahead.
TEST_P(SpoolPowerLossTest, EveryAcknowledgedMessageSurvivesACut) {
  ASSERT_NO_FATAL_FAILURE(check_every_cut(options(256u << 10)));
}

TEST_P(SpoolPowerLossTest, EveryAcknowledgedMessageSurvivesACutInAppendedSegments) {
  if (direct_io_) GTEST_SKIP() << "direct I/O always writes into prepared segments";
  auto o = options(256u << 10);
  o.preallocate = false;
  ASSERT_NO_FATAL_FAILURE(check_every_cut(o));
}

INSTANTIATE_TEST_SUITE_P(EveryWay, SpoolPowerLossTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(1u, 4u)), io_name);

}  // namespace
}  // namespace mxring::engine
