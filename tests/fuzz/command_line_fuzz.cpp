// Fuzz target: bytes framed into lines by the LineScanner (as a connection would feed them),
// each line parsed (and XCLIENT's attribute list). Checks that every view the parser returns
// lies inside its line and that the framing never holds more than the cap plus one read; and
// that the kernels' plain-mailbox fast path splits every path exactly as the grammar does; and
// that every copy of the command grammar (command_internal.h) this CPU runs returns what the
// portable copy returns.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "command_internal.h"
#include "mxring/parser/command.h"
#include "mxring/parser/impl.h"
#include "mxring/parser/line_scanner.h"
#include "mxring/parser/padding.h"
#include "mxring/parser/xclient.h"
#include "path_internal.h"

using namespace mxring::parser;

namespace {

void check_inside(std::string_view part, std::string_view line) {
  if (part.empty()) return;
  if (part.data() < line.data() || part.data() + part.size() > line.data() + line.size())
    std::abort();
}

bool same_view(std::string_view a, std::string_view b) {
  return a.data() == b.data() && a.size() == b.size();
}

void compare_path_parsers(std::string_view line) {
  const auto open = line.find('<');
  if (open == std::string_view::npos) return;
  const auto text = line.substr(open);
  for (const auto kind : {PathKind::reverse, PathKind::forward}) {
    Path fast, grammar;
    const auto consumed = parse_path_into(text, kind, fast);
    if (consumed != detail::parse_path_grammar(text, kind, grammar)) std::abort();
    if (consumed != 0 && (!same_view(fast.mailbox, grammar.mailbox) ||
                          !same_view(fast.local_part, grammar.local_part) ||
                          !same_view(fast.domain, grammar.domain) || fast.null != grammar.null ||
                          fast.utf8 != grammar.utf8 || fast.bracketed != grammar.bracketed))
      std::abort();
  }
}

bool same_path(const Path& a, const Path& b) {
  return same_view(a.mailbox, b.mailbox) && same_view(a.local_part, b.local_part) &&
         same_view(a.domain, b.domain) && a.null == b.null && a.utf8 == b.utf8 &&
         a.bracketed == b.bracketed;
}

bool same_command(const ParsedCommand& x, const ParsedCommand& y) {
  const auto &a = x.command, &b = y.command;
  return x.error == y.error && a.verb == b.verb && same_view(a.argument, b.argument) &&
         same_view(a.auth_initial_response, b.auth_initial_response) && same_path(a.path, b.path) &&
         a.mail.has_size == b.mail.has_size && a.mail.size == b.mail.size &&
         a.mail.body == b.mail.body && a.mail.smtputf8 == b.mail.smtputf8 &&
         a.mail.requiretls == b.mail.requiretls && a.mail.ret == b.mail.ret &&
         same_view(a.mail.envid, b.mail.envid) && same_view(a.mail.auth, b.mail.auth) &&
         a.rcpt.notify == b.rcpt.notify && same_view(a.rcpt.orcpt_type, b.rcpt.orcpt_type) &&
         same_view(a.rcpt.orcpt_address, b.rcpt.orcpt_address) && a.bdat_size == b.bdat_size &&
         a.bdat_last == b.bdat_last;
}

void compare_grammar_copies(std::string_view line) {
  const auto portable = detail::portable::parse_command(line, {});
  for (const Impl impl : supported_impls())
    if (!same_command(portable, detail::parse_command_for(impl)(line, {}))) std::abort();
}

void parse_line(std::string_view line) {
  compare_path_parsers(line);
  compare_grammar_copies(line);
  const auto parsed = parse_command(line);
  const auto& c = parsed.command;
  for (auto part :
       {c.argument, c.auth_initial_response, c.path.mailbox, c.path.local_part, c.path.domain,
        c.mail.envid, c.mail.auth, c.rcpt.orcpt_type, c.rcpt.orcpt_address})
    check_inside(part, line);
  if (parsed.error == CommandError::none && c.verb == Verb::unknown) std::abort();
  if (parsed.error == CommandError::none && c.verb == Verb::xclient) {
    XclientAttributes attributes;
    if (parse_xclient(c.argument, attributes))
      for (auto value : attributes.values) check_inside(value, line);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint32_t cap = 600;
  const std::size_t read_size = 1 + (size ? data[0] % 64 : 0);
  LineScanner scanner(cap);
  std::string held;
  for (std::size_t at = 0; at < size; at += read_size) {
    held.append(reinterpret_cast<const char*>(data) + at, std::min(read_size, size - at));
    while (!held.empty()) {
      std::vector<char> padded(held.size() + kPadding, 'P');
      std::memcpy(padded.data(), held.data(), held.size());
      const auto line = scanner.next({padded.data(), held.size()});
      if (line.status == LineStatus::need_more) break;
      if (line.consumed == 0 || line.consumed > held.size()) std::abort();
      if (line.valid()) {
        // Exact-size copy: ASan flags any read past the line.
        std::vector<char> exact(held.begin(), held.begin() + line.length);
        parse_line({exact.data(), exact.size()});
      }
      held.erase(0, line.consumed);
    }
    if (held.size() > cap + read_size) std::abort();
  }
  return 0;
}
