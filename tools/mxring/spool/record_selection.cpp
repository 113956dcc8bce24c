#include "record_selection.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace mxring::tools::spool {

std::optional<std::int64_t> parse_time_us(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("0123456789.") == std::string::npos) {
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    if (*end != '\0') return std::nullopt;
    return static_cast<std::int64_t>(std::llround(seconds * 1e6));
  }
  std::tm parts{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &parts.tm_year, &parts.tm_mon, &parts.tm_mday,
                  &consumed) != 3 ||
      consumed != 10)
    return std::nullopt;
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  std::int64_t fraction_us = 0, offset_s = 0;
  std::size_t at = 10;
  if (at < text.size()) {
    if (text[at] != 'T' && text[at] != 't' && text[at] != ' ') return std::nullopt;
    if (std::sscanf(text.c_str() + at + 1, "%2d:%2d:%2d%n", &parts.tm_hour, &parts.tm_min,
                    &parts.tm_sec, &consumed) != 3 ||
        consumed != 8)
      return std::nullopt;
    at += 9;
    if (at < text.size() && text[at] == '.') {
      std::int64_t scale = 100'000;
      for (++at; at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])); ++at) {
        fraction_us += (text[at] - '0') * scale;
        scale /= 10;
      }
    }
    if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
      ++at;
    } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
      int hours = 0, minutes = 0;
      if (std::sscanf(text.c_str() + at + 1, "%2d:%2d%n", &hours, &minutes, &consumed) != 2 ||
          consumed != 5)
        return std::nullopt;
      offset_s = (text[at] == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
      at += 6;
    } else {
      return std::nullopt;  // RFC 3339 requires a zone
    }
    if (at != text.size()) return std::nullopt;
  }
  const auto seconds = static_cast<std::int64_t>(timegm(&parts)) - offset_s;
  return seconds * 1'000'000 + fraction_us;
}

void RecordSelection::add_options(CLI::App* command) {
  command->add_option("--since", since_text,
                      "Only messages received at or after this time (Unix seconds or RFC 3339)");
  command->add_option("--until", until_text, "Only messages received before this time");
  command->add_option("--id", ids, "Only this queue id (repeatable)");
}

bool RecordSelection::resolve(std::string& error) {
  if (!since_text.empty() && !(since_us = parse_time_us(since_text))) {
    error = "--since: not a time: " + since_text;
    return false;
  }
  if (!until_text.empty() && !(until_us = parse_time_us(until_text))) {
    error = "--until: not a time: " + until_text;
    return false;
  }
  id_set.insert(ids.begin(), ids.end());
  return true;
}

bool RecordSelection::selects(const engine::spool::RecordView& record) const {
  const auto at = record.header.received_at_us;
  if (since_us && at < *since_us) return false;
  if (until_us && at >= *until_us) return false;
  return id_set.empty() || id_set.contains(record.header.queue_id.view());
}

}  // namespace mxring::tools::spool
