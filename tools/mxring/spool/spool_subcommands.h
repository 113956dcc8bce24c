// The `mxring spool` subcommands beyond ls/cat/show/verify, one file each. Each registers
// itself under `spool`; `directory` is the --dir value, filled in when it runs.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "mxring/engine/spool_reader.h"
#include "mxring/engine/spool_stream.h"

namespace mxring::tools::spool {

void add_export_command(CLI::App* spool, const std::string& directory, int& exit_code);
void add_tail_command(CLI::App* spool, const std::string& directory, int& exit_code);
void add_replay_command(CLI::App* spool, const std::string& directory, int& exit_code);
void add_prune_command(CLI::App* spool, const std::string& directory, int& exit_code);
void add_forward_command(CLI::App* spool, const std::string& directory, int& exit_code);

// Loads the named cursor (spool_cursor_file.h), registering a new one by saving it at once.
// `path` receives where it lives.
std::optional<engine::SpoolCursor> open_consumer_cursor(const std::string& directory,
                                                        const std::string& name, std::string& path,
                                                        std::string& error);

// Long-running consumers stop at a record boundary on SIGINT/SIGTERM.
void stop_on_signals();
bool stop_requested();
// Sleeps up to `duration`, waking early when asked to stop.
void pause_unless_stopping(std::chrono::milliseconds duration);

// Prints the stream's problems to standard error; true when one is corruption.
bool report_stream_problems(const std::vector<engine::SpoolProblem>& problems);

}  // namespace mxring::tools::spool
