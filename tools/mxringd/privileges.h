// Starting as root and serving as someone else: mxringd binds its ports and opens its spool
// as root, hands the spool to the service user, then drops to that user and group for good
// (setgroups, setgid, setuid; glibc applies them to every thread). It then checks it cannot
// become root again, and exits if it can.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace mxring::tools {

struct ServiceUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Looks the user (and the group: its primary group when `group` is empty) up in the local
// databases (files; no DNS).
std::optional<ServiceUser> find_service_user(const std::string& user, const std::string& group,
                                             std::string& error);

// Gives `directory` and everything in it to the user (segments, cursors, the commit marker),
// so rotation, retention and consumers work once mxringd no longer is root.
bool hand_over(const std::string& directory, const ServiceUser& user, std::string& error);

bool drop_privileges(const ServiceUser& user, std::string& error);

// Confines the process to the current directory (the spool, where mxringd has already
// moved): chroot(".") then chdir("/"). Done as root, before drop_privileges(). wolfSSL seeds
// every TLS session from /dev/urandom by path, so that device is made inside first
// (<spool>/dev/urandom, root's; spool readers skip what is not a writer's directory).
bool enter_chroot(std::string& error);

}  // namespace mxring::tools
