// The memory mxringd sizes its defaults from: a control group's limit where one is set
// (a container, a systemd unit with MemoryMax=), read the way the kernel lays the files out
// under /sys/fs/cgroup for cgroup v2, the hybrid layout, and the v1 memory controller.
#include "mxring/engine/memory_limit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "temp_file.h"

namespace mxring::engine {
namespace {

class CgroupMemoryLimit : public ::testing::Test {
 protected:
  // Writes `value` to the file `relative` under the fake /sys/fs/cgroup.
  void set(const std::string& relative, const std::string& value) {
    const auto file = root_.path() / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << value;
  }
  std::optional<std::uint64_t> limit(std::string_view self_cgroup) {
    return cgroup_memory_limit(self_cgroup, root_.path().string());
  }

  test::TempDirectory root_{"mxring-cgroup"};
};

TEST_F(CgroupMemoryLimit, V2TheGroupItselfOrTheLowestOfItsAncestors) {
  set("system.slice/mxringd.service/memory.max", "1073741824\n");
  EXPECT_EQ(limit("0::/system.slice/mxringd.service\n"), 1073741824u);
  set("system.slice/memory.max", "536870912\n");  // the parent's binds the child too
  EXPECT_EQ(limit("0::/system.slice/mxringd.service\n"), 536870912u);
  set("system.slice/memory.max", "max\n");
  EXPECT_EQ(limit("0::/system.slice/mxringd.service\n"), 1073741824u);
  set("system.slice/mxringd.service/memory.max", "max\n");
  EXPECT_EQ(limit("0::/system.slice/mxringd.service\n"), std::nullopt);
}

TEST_F(CgroupMemoryLimit, InsideAContainerTheMountsTopIsTheContainersGroup) {
  // With a cgroup namespace the path is "/"; without one it names the host's group, which
  // is not there under the container's mount: its top holds the limit either way.
  set("memory.max", "268435456\n");
  EXPECT_EQ(limit("0::/\n"), 268435456u);
  EXPECT_EQ(limit("0::/docker/4f1c0a\n"), 268435456u);
}

TEST_F(CgroupMemoryLimit, V1MemoryControllerAndTheHybridLayout) {
  const std::string self =
      "9:name=systemd:/\n8:pids:/\n4:cpu,memory:/process_api/ebd3\n1:cpu:/\n0::/\n";
  EXPECT_EQ(limit(self), std::nullopt);
  // "No limit" in v1 is LONG_MAX rounded down to a page.
  set("memory/memory.limit_in_bytes", "9223372036854771712\n");
  set("memory/process_api/ebd3/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(limit(self), std::nullopt);
  set("memory/process_api/ebd3/memory.limit_in_bytes", "2147483648\n");
  EXPECT_EQ(limit(self), 2147483648u);
  // Hybrid: cgroup v2 mounted at "unified" beside the v1 controllers; the lower one binds.
  set("unified/memory.max", "1073741824\n");
  EXPECT_EQ(limit(self), 1073741824u);
  // Another controller's files, and a line without the memory controller, change nothing.
  set("cpu/process_api/ebd3/memory.limit_in_bytes", "1\n");
  EXPECT_EQ(limit("1:cpu:/process_api/ebd3\n"), std::nullopt);
}

TEST_F(CgroupMemoryLimit, WhatIsNotANumberIsNoLimit) {
  for (const char* text : {"", "-1\n", "12 MB\n", "0x100\n", "18446744073709551616\n"}) {
    set("memory.max", text);
    EXPECT_EQ(limit("0::/\n"), std::nullopt) << text;
  }
  EXPECT_EQ(limit("garbage without colons\n0:\n"), std::nullopt);
}

TEST(UsableMemory, NeverMoreThanThePhysicalMemory) {
  const auto physical = static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                        static_cast<std::uint64_t>(sysconf(_SC_PAGE_SIZE));
  EXPECT_GT(usable_memory(), 0u);
  EXPECT_LE(usable_memory(), physical);
}

}  // namespace
}  // namespace mxring::engine
