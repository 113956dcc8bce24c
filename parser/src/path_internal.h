// parse_path_into, inline for the command parser, and the grammar without the kernels' fast
// path (not installed): tests compare the two.
#pragma once

#include <cstddef>
#include <string_view>

#include "impl_internal.h"
#include "mxring/parser/path.h"

namespace mxring::parser::detail {

// parse_path_into's contract, decided by the scalar grammar alone.
std::size_t parse_path_grammar(std::string_view text, PathKind kind, Path& path);

// `text` is "<mailbox>..." and a mailbox kernel vouched for `split`: the path it describes.
inline std::size_t take_plain_mailbox(std::string_view text, kernels::MailboxSplit split,
                                      Path& path) {
  const auto mailbox = text.substr(1, split.end);
  path.mailbox = mailbox;
  path.local_part = mailbox.substr(0, split.at);
  path.domain = mailbox.substr(split.at + 1);
  return split.end + 2;
}

// Nearly every path is `<local@domain>` in ASCII: the active implementation's kernel checks
// that shape in one block when it has one; whatever it does not vouch for goes through the
// grammar, which decides everything, errors included.
inline std::size_t parse_path_fast(std::string_view text, PathKind kind, Path& path) {
  static const auto plain_mailbox = kernels_for(active_impl()).plain_mailbox;
  if (plain_mailbox != nullptr && text.size() > 1 && text[0] == '<') {
    const auto split = plain_mailbox(text.data() + 1, text.size() - 1);
    if (split.end != 0) return take_plain_mailbox(text, split, path);
  }
  return parse_path_grammar(text, kind, path);
}

}  // namespace mxring::parser::detail
