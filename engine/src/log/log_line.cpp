// Event lines in the two formats. The timestamp's date and time of day are formatted once a
// second per thread; a line costs a clock read and appends.
#include <emmintrin.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
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

// "00" to "99".
constexpr auto kTwoDigits = [] {
  std::array<std::array<char, 2>, 100> table{};
  for (unsigned i = 0; i < 100; ++i)
    table[i] = {static_cast<char>('0' + i / 10), static_cast<char>('0' + i % 10)};
  return table;
}();

// "2026-11-28T12:00:00.123456Z" (RFC 3339, UTC, microseconds) at `o` (27 octets).
// `unix_us` < 0: now.
char* write_timestamp(char* o, std::int64_t unix_us) {
  thread_local time_t cached_second = -1;
  thread_local char cached[24];
  thread_local std::size_t cached_length = 0;
  timespec now{};
  if (unix_us < 0) {
    clock_gettime(CLOCK_REALTIME, &now);
  } else {
    now.tv_sec = static_cast<time_t>(unix_us / 1'000'000);
    now.tv_nsec = static_cast<long>(unix_us % 1'000'000) * 1000;
  }
  if (now.tv_sec != cached_second) {
    tm utc{};
    gmtime_r(&now.tv_sec, &utc);
    cached_length = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S.", &utc);
    cached_second = now.tv_sec;
  }
  std::memcpy(o, cached, cached_length);
  o += cached_length;
  // The six digits of the microsecond, two at a time.
  const auto us = static_cast<unsigned>(now.tv_nsec / 1000);
  std::memcpy(o, kTwoDigits[us / 10000].data(), 2);
  std::memcpy(o + 2, kTwoDigits[us / 100 % 100].data(), 2);
  std::memcpy(o + 4, kTwoDigits[us % 100].data(), 2);
  o[6] = 'Z';
  return o + 7;
}

// Keys and values are mostly under 16 octets: copied inline, as two overlapping loads and
// stores that stay inside the source, rather than through a call to memcpy each.
[[gnu::always_inline]] inline char* put(char* o, std::string_view text) {
  const char* p = text.data();
  const std::size_t n = text.size();
  const auto two = [&](auto word) {
    constexpr std::size_t w = sizeof word;
    decltype(word) head, tail;
    std::memcpy(&head, p, w);
    std::memcpy(&tail, p + n - w, w);
    std::memcpy(o, &head, w);
    std::memcpy(o + n - w, &tail, w);
  };
  if (n > 16) {
    std::memcpy(o, p, n);
  } else if (n >= 8) {
    two(std::uint64_t{});
  } else if (n >= 4) {
    two(std::uint32_t{});
  } else {
    for (std::size_t i = 0; i < n; ++i) o[i] = p[i];
  }
  return o + n;
}

// Octets a value may hold and still go bare: 0x21..0x7e but '"', '\\' and '='.
constexpr auto kTokenOctets = [] {
  std::array<bool, 256> table{};
  for (unsigned c = 0x21; c < 0x7f; ++c) table[c] = c != '"' && c != '\\' && c != '=';
  return table;
}();

// Text values go bare when they are plain tokens, else as JSON strings (quoted, escaped).
// Every client-named value of every transaction line passes here, so 16 octets a step.
bool bare_token(std::string_view value) {
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  const auto* const end = p + value.size();
  // An octet is outside 0x21..0x7e when (octet - 0x21), unsigned, is over 0x5d.
  const __m128i offset = _mm_set1_epi8(0x21), span = _mm_set1_epi8(0x5d);
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  const __m128i equals = _mm_set1_epi8('=');
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i shifted = _mm_sub_epi8(v, offset);
    const __m128i inside = _mm_cmpeq_epi8(_mm_max_epu8(shifted, span), span);
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmpeq_epi8(v, equals));
    if (_mm_movemask_epi8(_mm_andnot_si128(special, inside)) != 0xFFFF) return false;
  }
  // The last few octets (most values are shorter than 16): a table, without a branch each.
  bool plain = true;
  for (; p != end; ++p) plain &= kTokenOctets[*p];
  return plain && !value.empty();
}

}  // namespace

// Lines are written through a cursor into room made in the string ahead of it (the string is
// cut back to the cursor at the end): a field costs a few stores, not a string append each.
void LogLine::grow(std::size_t n) {
  // resize() zero-fills what it adds, so add a line's worth, not more (the string's own
  // growth keeps reallocation amortised).
  out_.resize(at_ + std::max<std::size_t>(n, 320));
}

LogLine::LogLine(std::string& out, LogFormat format, Level level, std::string_view event,
                 std::int64_t unix_us)
    : out_(out), format_(format), at_(out.size()) {
  char* o = room(96 + event.size());
  if (format_ == LogFormat::json) {
    o = put(o, "{\"ts\":\"");
    o = write_timestamp(o, unix_us);
    o = put(o, "\",\"level\":\"");
    o = put(o, level_name(level));
    o = put(o, "\",\"event\":\"");
    o = put(o, event);  // a name from the code, never from a client
    *o++ = '"';
  } else {
    o = write_timestamp(o, unix_us);
    *o++ = ' ';
    o = put(o, level_name(level));
    o = put(o, ": mxringd:");
    if (event != "log") {  // an operational line is just its message
      *o++ = ' ';
      o = put(o, event);
    }
  }
  advance(o);
}

LogLine::LogLine(std::string& out, LogFormat format)
    : out_(out), format_(format), ended_(true), at_(out.size()) {}

LogLine::~LogLine() {
  end();
}

// `,"key":` or ` key=`: the punctuation as two-octet stores, one branch on the format.
char* LogLine::key(char* o, std::string_view key) const {
  if (format_ == LogFormat::json) {
    std::memcpy(o, ",\"", 2);
    o = put(o + 2, key);
    std::memcpy(o, "\":", 2);
    return o + 2;
  }
  *o = ' ';
  o = put(o + 1, key);
  *o = '=';
  return o + 1;
}

LogLine& LogLine::text(std::string_view key, std::string_view value, bool omit_empty) {
  if (value.empty() && omit_empty) return *this;
  // An operational message reads better whole after the prefix than as message="...".
  if (format_ == LogFormat::text && key == "message") {
    char* o = room(1 + value.size());
    *o++ = ' ';
    advance(put(o, value));
    return *this;
  }
  // Room for the worst case only when escaping may need it: asking for six octets per
  // input octet on every field made most fields grow the string (and zero-fill the growth).
  const bool bare = bare_token(value);
  char* o = this->key(
      room(key.size() + 4 + (bare ? value.size() + 2 : json_string_room(value.size()))), key);
  if (bare) {  // the usual case: nothing to escape
    const bool quote = format_ == LogFormat::json;
    if (quote) *o++ = '"';
    o = put(o, value);
    if (quote) *o++ = '"';
  } else {
    o = write_json_text(value, o);
  }
  advance(o);
  return *this;
}

LogLine& LogLine::number(std::string_view key, std::uint64_t value) {
  char* o = this->key(room(key.size() + 4 + 24), key);
  advance(std::to_chars(o, o + 24, value).ptr);
  return *this;
}

LogLine& LogLine::flag(std::string_view key, bool value) {
  char* o = this->key(room(key.size() + 4 + 5), key);
  advance(put(o, value ? "true" : "false"));
  return *this;
}

LogLine& LogLine::fields(std::string_view written) {
  advance(put(room(written.size()), written));
  return *this;
}

void LogLine::end() {
  if (!ended_) {
    ended_ = true;
    advance(put(room(2), format_ == LogFormat::json ? "}\n" : "\n"));
  }
  out_.resize(at_);  // the room not used
}

}  // namespace mxring::engine
