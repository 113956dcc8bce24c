// mxring: the command-line tool beside the server. `spool` reads what mxringd stored,
// `passwd` makes --auth-users lines, `bench` is the load generator, `selftest` probes a
// server for the protocol traps.
#include <CLI/CLI.hpp>

#include "bench/bench_command.h"
#include "passwd_command.h"
#include "selftest/selftest_command.h"
#include "spool/spool_command.h"

int main(int argc, char** argv) {
  CLI::App app{"mxring: tools for the mxring SMTP ingest server", "mxring"};
  app.require_subcommand(1);
  int exit_code = 0;
  mxring::tools::add_spool_command(app, exit_code);
  mxring::tools::add_passwd_command(app, exit_code);
  mxring::tools::add_bench_command(app, exit_code);
  mxring::tools::add_selftest_command(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
