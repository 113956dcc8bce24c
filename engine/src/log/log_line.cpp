// Event lines in the two formats. The timestamp's date and time of day are formatted once a
// second per thread; a line costs a clock read and appends.
#include <charconv>
#include <ctime>

#include "mxring/engine/json_text.h"
#include "mxring/engine/log.h"

namespace mxring::engine {
namespace {

constexpr std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warning:
      return "warning";
    case Level::error:
      return "error";
  }
  return "info";
}

// "2026-11-28T12:00:00.123456Z" (RFC 3339, UTC, microseconds).
void append_timestamp(std::string& out) {
  thread_local time_t cached_second = -1;
  thread_local char cached[24];
  thread_local std::size_t cached_length = 0;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  if (now.tv_sec != cached_second) {
    tm utc{};
    gmtime_r(&now.tv_sec, &utc);
    cached_length = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S.", &utc);
    cached_second = now.tv_sec;
  }
  out.append(cached, cached_length);
  char micros[6];
  auto us = static_cast<unsigned>(now.tv_nsec / 1000);
  for (int i = 5; i >= 0; --i, us /= 10) micros[i] = static_cast<char>('0' + us % 10);
  out.append(micros, 6);
  out += 'Z';
}

// Text values go bare when they are plain tokens, else as JSON strings (quoted, escaped).
bool bare_token(std::string_view value) {
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\\' || c == '=') return false;
  }
  return !value.empty();
}

}  // namespace

LogLine::LogLine(std::string& out, LogFormat format, Level level, std::string_view event)
    : out_(out), format_(format) {
  if (format_ == LogFormat::json) {
    out_ += "{\"ts\":\"";
    append_timestamp(out_);
    out_ += "\",\"level\":\"";
    out_ += level_name(level);
    out_ += "\",\"event\":\"";
    out_ += event;  // a name from the code, never from a client
    out_ += '"';
  } else {
    append_timestamp(out_);
    out_ += ' ';
    out_ += level_name(level);
    out_ += ": mxringd:";
    if (event != "log") {  // an operational line is just its message
      out_ += ' ';
      out_ += event;
    }
  }
}

void LogLine::key(std::string_view key) {
  if (format_ == LogFormat::json) {
    out_ += ",\"";
    out_ += key;
    out_ += "\":";
  } else {
    out_ += ' ';
    out_ += key;
    out_ += '=';
  }
}

LogLine& LogLine::text(std::string_view key, std::string_view value, bool omit_empty) {
  if (value.empty() && omit_empty) return *this;
  // An operational message reads better whole after the prefix than as message="...".
  if (format_ == LogFormat::text && key == "message") {
    out_ += ' ';
    out_ += value;
    return *this;
  }
  this->key(key);
  if (format_ == LogFormat::text && bare_token(value))
    out_ += value;
  else
    append_json_text(out_, value);
  return *this;
}

LogLine& LogLine::number(std::string_view key, std::uint64_t value) {
  this->key(key);
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out_.append(digits, static_cast<std::size_t>(end - digits));
  return *this;
}

LogLine& LogLine::flag(std::string_view key, bool value) {
  this->key(key);
  out_ += value ? "true" : "false";
  return *this;
}

void LogLine::end() {
  if (ended_) return;
  ended_ = true;
  out_ += format_ == LogFormat::json ? "}\n" : "\n";
}

}  // namespace mxring::engine
