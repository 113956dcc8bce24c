// mxringd's --config file (TOML, the keys --check-config prints) read over the options.
#pragma once

#include <string>

#include "options.h"

namespace mxring::tools {

// Sets in `options` what the file at `path` gives. Throws std::runtime_error (toml11's
// message, with the file's line) for a file that does not parse, a key mxringd has no setting
// for and a whole number its setting cannot hold; CLI::ValidationError for a bad value.
void load_config_file(Options& options, const std::string& path);

}  // namespace mxring::tools
