// Names the calling thread ("mx-reactor-0", "mx-writer-0", "mx-sync-0.1", "mx-log") so
// `top -H`, `ps -L`, perf and /proc/<pid>/task/*/comm tell mxringd's threads apart.
#pragma once

#include <pthread.h>

#include <cstdio>

namespace mxring::engine {

inline void name_this_thread(const char* role, int index = -1, int sub_index = -1) {
  char name[40];
  if (sub_index >= 0)
    std::snprintf(name, sizeof name, "mx-%s-%d.%d", role, index, sub_index);
  else if (index >= 0)
    std::snprintf(name, sizeof name, "mx-%s-%d", role, index);
  else
    std::snprintf(name, sizeof name, "mx-%s", role);
  name[15] = '\0';  // the kernel keeps 15 octets and the terminator (prctl(2) PR_SET_NAME)
  pthread_setname_np(pthread_self(), name);
}

}  // namespace mxring::engine
