// `mxring bench`: the SMTP load generator (DESIGN.md command-line contract).
#pragma once

#include <CLI/CLI.hpp>

namespace mxring::tools {

void add_bench_command(CLI::App& app, int& exit_code);

}  // namespace mxring::tools
