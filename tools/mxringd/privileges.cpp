#include "privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace mxring::tools {

std::optional<ServiceUser> find_service_user(const std::string& user, const std::string& group_name,
                                             std::string& error) {
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 || !found) {
    error = "--user " + user + ": no such user";
    return std::nullopt;
  }
  ServiceUser result{user, pw.pw_uid, pw.pw_gid};
  if (!group_name.empty()) {
    group gr{};
    group* found_group = nullptr;
    if (getgrnam_r(group_name.c_str(), &gr, buffer.data(), buffer.size(), &found_group) != 0 ||
        !found_group) {
      error = "--group " + group_name + ": no such group";
      return std::nullopt;
    }
    result.gid = gr.gr_gid;
  }
  if (result.uid == 0) {
    error = "--user " + user + " is root: name an unprivileged user";
    return std::nullopt;
  }
  return result;
}

bool hand_over(const std::string& directory, const ServiceUser& user, std::string& error) {
  namespace fs = std::filesystem;
  std::error_code failure;
  const auto give = [&](const fs::path& path) {
    if (lchown(path.c_str(), user.uid, user.gid) != 0) {
      error = "cannot give " + path.string() + " to " + user.name + ": " + std::strerror(errno);
      return false;
    }
    return true;
  };
  if (!give(directory)) return false;
  for (fs::recursive_directory_iterator it(directory, failure), end; !failure && it != end;
       it.increment(failure))
    if (!give(it->path())) return false;
  if (failure) error = "cannot walk " + directory + ": " + failure.message();
  return !failure;
}

bool drop_privileges(const ServiceUser& user, std::string& error) {
  const gid_t groups[] = {user.gid};
  if (setgroups(1, groups) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0) {
    error = std::string("cannot become ") + user.name + ": " + std::strerror(errno);
    return false;
  }
  // Never serve as root: if any way back remains, stop here.
  if (setuid(0) == 0 || seteuid(0) == 0 || getuid() == 0 || geteuid() == 0) {
    error = "still able to become root after dropping privileges; refusing to serve";
    return false;
  }
  return true;
}

bool enter_chroot(std::string& error) {
  struct stat device {};
  if ((mkdir("dev", 0755) != 0 && errno != EEXIST) ||
      (mknod("dev/urandom", S_IFCHR | 0444, makedev(1, 9)) != 0 && errno != EEXIST) ||
      stat("dev/urandom", &device) != 0 || !S_ISCHR(device.st_mode) ||
      device.st_rdev != makedev(1, 9)) {
    error =
        std::string("cannot make dev/urandom in the spool for --chroot: ") + std::strerror(errno);
    return false;
  }
  if (chroot(".") != 0 || chdir("/") != 0) {
    error = std::string("cannot chroot to the spool: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace mxring::tools
