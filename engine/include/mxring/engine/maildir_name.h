// The host part of a maildir file name (https://cr.yp.to/proto/maildir.html): this host's
// name with '/' written \057 and ':' (the info separator) written \072, as the
// specification asks. The maildir sink and `mxring spool export --format maildir` both name
// files with it.
#pragma once

#include <unistd.h>

#include <string>
#include <string_view>

namespace mxring::engine {

inline std::string maildir_host_part(std::string_view name) {
  std::string host;
  for (const char c : name) {
    if (c == '/')
      host += "\\057";
    else if (c == ':')
      host += "\\072";
    else
      host += c;
  }
  return host;
}

inline std::string maildir_host_name() {
  char name[256] = "localhost";
  gethostname(name, sizeof name - 1);
  return maildir_host_part(name);
}

}  // namespace mxring::engine
