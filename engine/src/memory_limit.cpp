#include "mxring/engine/memory_limit.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "mxring/engine/file_text.h"

namespace mxring::engine {
namespace {

// cgroup v1 writes "no limit" as LONG_MAX rounded down to a page; nothing below 2^62 is
// that, and no machine has that much memory.
constexpr std::uint64_t kNoLimitAtOrAbove = std::uint64_t{1} << 62;

std::optional<std::uint64_t> limit_in(const std::string& file) {
  const auto text = read_file_text(file);
  if (!text) return std::nullopt;
  std::string_view value(*text);
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  std::uint64_t limit = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), limit);
  if (error != std::errc() || end != value.data() + value.size() || limit >= kNoLimitAtOrAbove)
    return std::nullopt;  // "max", or unreadable
  return limit;
}

void keep_lowest(std::optional<std::uint64_t>& lowest, std::optional<std::uint64_t> limit) {
  if (limit) lowest = std::min(lowest.value_or(*limit), *limit);
}

// The lowest limit in `file` of the group at `path` under `mount` and of each ancestor.
std::optional<std::uint64_t> lowest_up_from(const std::string& mount, std::string_view path,
                                            const char* file) {
  std::optional<std::uint64_t> lowest;
  while (true) {
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    keep_lowest(lowest, limit_in(mount + std::string(path) + "/" + file));
    if (path.empty()) return lowest;
    const auto parent = path.rfind('/');
    path = path.substr(0, parent == std::string_view::npos ? 0 : parent);
  }
}

bool names_memory_controller(std::string_view controllers) {
  while (!controllers.empty()) {
    const auto comma = controllers.find(',');
    if (controllers.substr(0, comma) == "memory") return true;
    if (comma == std::string_view::npos) break;
    controllers.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<std::uint64_t> cgroup_memory_limit(std::string_view self_cgroup,
                                                 const std::string& cgroup_root) {
  std::optional<std::uint64_t> lowest;
  while (!self_cgroup.empty()) {
    const auto end = self_cgroup.find('\n');
    const auto line = self_cgroup.substr(0, end);
    self_cgroup.remove_prefix(end == std::string_view::npos ? self_cgroup.size() : end + 1);
    // "hierarchy-ID:controller-list:cgroup-path" (cgroups(7)); the path may hold colons.
    const auto first = line.find(':');
    const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const auto controllers = line.substr(first + 1, second - first - 1);
    const auto path = line.substr(second + 1);
    if (line.substr(0, first) == "0" && controllers.empty()) {  // cgroup v2
      keep_lowest(lowest, lowest_up_from(cgroup_root, path, "memory.max"));
      keep_lowest(lowest, lowest_up_from(cgroup_root + "/unified", path, "memory.max"));
    } else if (names_memory_controller(controllers)) {
      keep_lowest(lowest, lowest_up_from(cgroup_root + "/memory", path, "memory.limit_in_bytes"));
    }
  }
  return lowest;
}

std::uint64_t usable_memory() {
  const auto physical = static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                        static_cast<std::uint64_t>(sysconf(_SC_PAGE_SIZE));
  const auto self = read_file_text("/proc/self/cgroup");
  const auto limit = self ? cgroup_memory_limit(*self, "/sys/fs/cgroup") : std::nullopt;
  return limit ? std::min(physical, *limit) : physical;
}

}  // namespace mxring::engine
