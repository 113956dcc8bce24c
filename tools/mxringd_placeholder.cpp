// mxringd before the reactor exists: says so and exits non-zero rather than pretend to serve.
#include <cstdio>

int main() {
  std::fputs("mxringd: the server is not built yet (parser only); nothing is listening\n", stderr);
  return 1;
}
