// How much memory mxringd may use: the machine's, or less where a control group caps it.
// A container or a systemd unit with MemoryMax= sees the whole host in sysconf(3); defaults
// sized from that (--max-content-memory's quarter) would let the kernel's OOM killer end
// the server instead of a 452 turning the excess away.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mxring::engine {

// The lowest memory limit on the control group that `self_cgroup` (the text of
// /proc/self/cgroup) names and on each of its ancestors, read under `cgroup_root` (normally
// /sys/fs/cgroup): cgroup v2's memory.max, under the root or its "unified" mount, and the
// v1 memory controller's memory.limit_in_bytes under "memory". Ancestors count because a
// parent's limit binds its children; the mount's own top counts because inside a container
// it is often the container's group while /proc/self/cgroup names the host's path. None
// when nothing is limited ("max", or v1's page-rounded 2^63 - 1).
std::optional<std::uint64_t> cgroup_memory_limit(std::string_view self_cgroup,
                                                 const std::string& cgroup_root);

// Physical memory, or this process's control group limit when that is lower.
std::uint64_t usable_memory();

}  // namespace mxring::engine
