#include "ehlo_offer.h"

#include <charconv>
#include <string>

namespace mxring::tools {
namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::uint64_t number(std::string_view text) {
  std::uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// LIMITS' value of `name` ("MAILMAX"): RFC 9422 §3, space-separated NAME=VALUE pairs.
std::uint64_t limit(std::string_view parameters, std::string_view name) {
  while (!parameters.empty()) {
    const auto end = parameters.find(' ');
    const auto pair = parameters.substr(0, end);
    if (pair.size() > name.size() && pair[name.size()] == '=' && pair.starts_with(name))
      return number(pair.substr(name.size() + 1));
    parameters.remove_prefix(end == std::string_view::npos ? parameters.size() : end + 1);
  }
  return 0;
}

}  // namespace

EhloOffer read_ehlo_offer(std::string_view reply) {
  EhloOffer offer;
  auto at = reply.find("\r\n");
  while (at != std::string_view::npos) {
    at += 2;
    const auto end = reply.find("\r\n", at);
    const auto line = reply.substr(at, end == std::string_view::npos ? end : end - at);
    at = end;
    if (line.size() < 5) continue;  // "250-" or "250 " before the keyword
    const auto text = upper(line.substr(4));
    const auto space = text.find(' ');
    const std::string_view keyword = std::string_view(text).substr(0, space);
    const std::string_view parameters =
        space == std::string::npos ? std::string_view() : std::string_view(text).substr(space + 1);
    if (keyword == "PIPELINING") offer.pipelining = true;
    if (keyword == "CHUNKING") offer.chunking = true;
    if (keyword == "BINARYMIME") offer.binary_mime = true;
    if (keyword == "8BITMIME") offer.eight_bit_mime = true;
    if (keyword == "STARTTLS") offer.starttls = true;
    if (keyword == "SMTPUTF8") offer.smtputf8 = true;
    if (keyword == "DSN") offer.dsn = true;
    if (keyword == "SIZE") {
      offer.size = true;
      offer.size_limit = number(parameters);
    }
    if (keyword == "LIMITS") {
      offer.mail_max = limit(parameters, "MAILMAX");
      offer.rcpt_max = limit(parameters, "RCPTMAX");
    }
  }
  return offer;
}

}  // namespace mxring::tools
