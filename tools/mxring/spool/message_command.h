// The classic MDA hand-off: runs `sh -c COMMAND` with the message on standard input and the
// envelope in environment variables (names in README.md here), like Postfix's pipe(8) and
// qmail's preline.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "mxring/engine/envelope.h"
#include "mxring/engine/spool_format.h"

namespace mxring::tools::spool {

// The recipients of each run of the command for one message: all of them in one run when
// their list fits in one environment variable, else as few runs as it takes (Postfix's
// pipe(8) splits a delivery by destination_recipient_limit the same way); one run a
// recipient with `per_recipient`. Always one run at least, an empty one for a message whose
// envelope cannot be read.
std::vector<std::span<const engine::Recipient>> recipient_runs(
    const std::vector<engine::Recipient>& recipients, bool per_recipient);

inline constexpr int kCommandFailed = -1;    // not started, or ended by a signal
inline constexpr int kCommandTimedOut = -2;  // killed (its whole process group) at the limit

// The command's exit status (0 success, 75 EX_TEMPFAIL: try again later), kCommandFailed
// or kCommandTimedOut. RECIPIENT is the first of `recipients`, MXRING_RECIPIENTS all of them.
// `time_limit` (0: none) is Postfix pipe(8)'s command_time_limit.
int run_message_command(const std::string& command, const engine::spool::RecordView& record,
                        const engine::Envelope& envelope,
                        std::span<const engine::Recipient> recipients,
                        std::chrono::seconds time_limit);

}  // namespace mxring::tools::spool
