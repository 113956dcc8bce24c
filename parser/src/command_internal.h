// The compiled copies of the command grammar (command_grammar.inc) and the choice between them
// (not installed).
#pragma once

#include <string_view>

#include "mxring/parser/command.h"
#include "mxring/parser/impl.h"

namespace mxring::parser::detail {

using ParseCommandFn = ParsedCommand (*)(std::string_view line, const CommandLimits& limits);

namespace portable {
// Built for the baseline instruction set; every path goes through the grammar.
ParsedCommand parse_command(std::string_view line, const CommandLimits& limits);
}  // namespace portable

namespace vbmi {
// Built for AVX-512 VBMI with the plain-mailbox kernel inlined; only where the CPU has VBMI.
ParsedCommand parse_command(std::string_view line, const CommandLimits& limits);
}  // namespace vbmi

// The copy that runs for `impl`: the VBMI one for avx512vbmi, the portable one otherwise.
ParseCommandFn parse_command_for(Impl impl);

}  // namespace mxring::parser::detail
