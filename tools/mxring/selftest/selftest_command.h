// `mxring selftest ADDR:PORT`: probes any SMTP server for the protocol traps mxring refuses
// (DESIGN.md, "SMTP behaviour that is not negotiable") and prints a verdict per check.
#pragma once

#include <CLI/CLI.hpp>

namespace mxring::tools {

void add_selftest_command(CLI::App& app, int& exit_code);

}  // namespace mxring::tools
