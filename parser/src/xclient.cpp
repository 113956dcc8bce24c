#include "mxring/parser/xclient.h"

#include "char_class.h"
#include "mxring/parser/text.h"

namespace mxring::parser {
namespace {

constexpr std::array<std::string_view, kXclientAttributes> kNames = {
    "NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "DESTADDR", "DESTPORT"};

}  // namespace

bool parse_xclient(std::string_view arguments, XclientAttributes& out) {
  out = {};
  bool any = false;
  while (!arguments.empty()) {
    const auto space = arguments.find(' ');
    const auto word = arguments.substr(0, space);
    arguments = space == std::string_view::npos ? std::string_view{} : arguments.substr(space + 1);
    if (word.empty()) continue;  // more than one space between words
    const auto equals = word.find('=');
    if (equals == std::string_view::npos) return false;
    const auto name = word.substr(0, equals), value = word.substr(equals + 1);
    std::size_t index = 0;
    while (index < kNames.size() && !detail::iequals(name, kNames[index])) ++index;
    if (index == kNames.size()) return false;
    const auto bit = static_cast<std::uint8_t>(1u << index);
    if ((out.present & bit) || !is_xtext(value)) return false;
    out.present |= bit;
    out.values[index] = value;
    any = true;
  }
  return any;
}

}  // namespace mxring::parser
