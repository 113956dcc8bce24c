/* Preloaded into OpenSMTPD for the comparison (unpacked_peers.py): its listen backlog is
 * compiled in as 5, which makes the kernel drop most of 100 simultaneous handshakes. Every
 * listen() gets a backlog of at least 1024 instead; nothing else changes. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>

int listen(int fd, int backlog) {
  static int (*real_listen)(int, int);
  if (!real_listen) real_listen = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
  return real_listen(fd, backlog < 1024 ? 1024 : backlog);
}
