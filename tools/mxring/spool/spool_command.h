// `mxring spool --dir DIR ls | cat ID | show ID | verify | export | tail | replay | prune`
// (DESIGN.md command-line contract).
#pragma once

#include <CLI/CLI.hpp>

namespace mxring::tools {

// Adds the `spool` subcommand to `app`; it runs when parsed.
void add_spool_command(CLI::App& app, int& exit_code);

}  // namespace mxring::tools
