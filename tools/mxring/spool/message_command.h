// The classic MDA hand-off: runs `sh -c COMMAND` with the message on standard input and the
// envelope in environment variables (names in README.md here), like Postfix's pipe(8) and
// qmail's preline.
#pragma once

#include <string>

#include "mxring/engine/spool_format.h"

namespace mxring::tools::spool {

// The command's exit status (0 success, 75 EX_TEMPFAIL: try again later), or -1 when it
// could not be started or was killed by a signal.
int run_message_command(const std::string& command, const engine::spool::RecordView& record);

}  // namespace mxring::tools::spool
