// parse_command: the copy of the command grammar (command_grammar.inc) built for the active
// implementation, and the portable copy itself.
#include "mxring/parser/command.h"

#include <array>
#include <atomic>
#include <cstring>

#include "char_class.h"
#include "command_internal.h"
#include "mxring/parser/text.h"
#include "path_internal.h"

namespace mxring::parser {

namespace detail::portable {
namespace {
// No mailbox kernel here: the grammar reads every path.
std::size_t read_path(std::string_view text, PathKind kind, Path& path) {
  return parse_path_grammar(text, kind, path);
}
}  // namespace

#include "command_grammar.inc"
}  // namespace detail::portable

namespace {
constexpr std::array<std::string_view, 16> kVerbNames = {
    "",     "HELO", "EHLO", "MAIL", "RCPT",     "DATA", "RSET", "NOOP",
    "QUIT", "VRFY", "EXPN", "HELP", "STARTTLS", "AUTH", "BDAT", "XCLIENT"};
}  // namespace

std::string_view verb_name(Verb verb) {
  return kVerbNames[static_cast<std::size_t>(verb)];
}

detail::ParseCommandFn detail::parse_command_for(Impl impl) {
  return impl == Impl::avx512vbmi ? &vbmi::parse_command : &portable::parse_command;
}

namespace {
ParsedCommand choose_then_parse(std::string_view line, const CommandLimits& limits);

// The copy every call goes to; the first call chooses it. An atomic rather than a function-local
// static: no guard to test on every call (a relaxed load is a plain load on x86-64), and two
// threads choosing at once store the same pointer.
std::atomic<detail::ParseCommandFn> chosen_copy{&choose_then_parse};

ParsedCommand choose_then_parse(std::string_view line, const CommandLimits& limits) {
  const auto copy = detail::parse_command_for(active_impl());
  chosen_copy.store(copy, std::memory_order_relaxed);
  return copy(line, limits);
}
}  // namespace

ParsedCommand parse_command(std::string_view line, const CommandLimits& limits) {
  return chosen_copy.load(std::memory_order_relaxed)(line, limits);
}

}  // namespace mxring::parser
