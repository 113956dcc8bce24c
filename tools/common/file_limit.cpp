#include "file_limit.h"

#include <sys/resource.h>

#include <fstream>

namespace mxring::tools {

bool ensure_file_limit(std::uint32_t& connections, const ConnectionFiles& need,
                       std::string& warning, std::string& error) {
  const std::uint64_t needed = std::uint64_t{connections} + need.reserve;
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_max < needed) {
    // Root may raise the hard limit up to the kernel's nr_open.
    std::uint64_t nr_open = 0;
    std::ifstream("/proc/sys/fs/nr_open") >> nr_open;
    rlimit raised{needed, needed};
    if (nr_open >= needed && setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;
  }
  if (files.rlim_max < needed) {
    const auto fits =
        files.rlim_max > need.reserve ? files.rlim_max - need.reserve : std::uint64_t{0};
    if (need.given || fits == 0) {
      error = std::string(need.option) + " " + std::to_string(connections) + " needs " +
              std::to_string(needed) + " file descriptors, but the hard limit (RLIMIT_NOFILE) is " +
              std::to_string(files.rlim_max) +
              ": raise it (systemd: LimitNOFILE=; shell: ulimit -Hn) or lower " + need.option;
      return false;
    }
    warning = "the file descriptor limit (" + std::to_string(files.rlim_max) + ") holds " +
              std::to_string(fits) + " connections, not the default " +
              std::to_string(connections) + "; serving at most " + std::to_string(fits) +
              " (raise LimitNOFILE to serve more)";
    connections = static_cast<std::uint32_t>(fits);
  }
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  return true;
}

}  // namespace mxring::tools
