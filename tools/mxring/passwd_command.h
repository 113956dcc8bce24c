// `mxring passwd [--argon2id] [USER]`: reads a password and prints a line for mxringd's
// --auth-users file (`user:hash`, or the hash alone without USER).
#pragma once

#include <CLI/CLI.hpp>

namespace mxring::tools {

void add_passwd_command(CLI::App& app, int& exit_code);

}  // namespace mxring::tools
