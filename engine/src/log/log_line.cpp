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

// Values are mostly under 32 octets: copied inline, as two overlapping loads and stores that
// stay inside the source, rather than through a call to memcpy each.
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
  if (n > 32) {
    std::memcpy(o, p, n);
  } else if (n >= 16) {
    two(__m128i{});
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

// Whether all 16 octets of `v` may go bare.
inline bool plain_octets(__m128i v) {
  // An octet is outside 0x21..0x7e when (octet - 0x21), unsigned, is over 0x5d.
  const __m128i shifted = _mm_sub_epi8(v, _mm_set1_epi8(0x21));
  const __m128i span = _mm_set1_epi8(0x5d);
  const __m128i inside = _mm_cmpeq_epi8(_mm_max_epu8(shifted, span), span);
  const __m128i special = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
      _mm_cmpeq_epi8(v, _mm_set1_epi8('=')));
  return _mm_movemask_epi8(_mm_andnot_si128(special, inside)) == 0xFFFF;
}

// Text values go bare when they are plain tokens, else as JSON strings (quoted, escaped).
// Every client-named value of every transaction line passes here, so 16 octets a step; a
// shorter value is read as two overlapping words inside it (an octet seen twice changes
// nothing: the question is whether every octet is plain).
bool bare_token(std::string_view value) {
  const char* p = value.data();
  const std::size_t n = value.size();
  const auto word = [](const char* at, auto type) {
    std::memcpy(&type, at, sizeof type);
    return type;
  };
  if (n >= 16) {
    for (std::size_t at = 0; at + 16 < n; at += 16)
      if (!plain_octets(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at)))) return false;
    return plain_octets(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)));
  }
  if (n >= 8) {
    const auto head = static_cast<long long>(word(p, std::uint64_t{}));
    const auto tail = static_cast<long long>(word(p + n - 8, std::uint64_t{}));
    return plain_octets(_mm_set_epi64x(tail, head));
  }
  if (n >= 4) {
    const auto head = static_cast<int>(word(p, std::uint32_t{}));
    const auto tail = static_cast<int>(word(p + n - 4, std::uint32_t{}));
    return plain_octets(_mm_set_epi32(tail, head, tail, head));
  }
  if (n == 0) return false;
  const auto octet = [&](std::size_t i) { return static_cast<unsigned char>(p[i]); };
  return kTokenOctets[octet(0)] && kTokenOctets[octet(n / 2)] && kTokenOctets[octet(n - 1)];
}

}  // namespace

// Lines are written through a cursor into room made in the string ahead of it (the string is
// cut back to the cursor at the end): a field costs a few stores, not a string append each.
void LogLine::grow(std::size_t n) {
  // resize() zero-fills what it adds. A string cut back after the line gets a line's worth,
  // not more (its own growth keeps reallocation amortised); a LineBuffer keeps what it gets,
  // so it doubles.
  const std::size_t line = std::max<std::size_t>(n, 320);
  out_.resize(length_ == nullptr ? at_ + line : std::max(at_ + line, out_.size() * 2));
}

void LineBuffer::append(std::string_view lines) {
  LogLine::fragment(*this, LogFormat::json).fields(lines);
}

LogLine::LogLine(std::string& out, std::size_t* length, LogFormat format, Level level,
                 std::string_view event, std::int64_t unix_us)
    : out_(out), length_(length), format_(format), at_(length ? *length : out.size()) {
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

LogLine::LogLine(std::string& out, std::size_t* length, LogFormat format)
    : out_(out),
      length_(length),
      format_(format),
      ended_(true),
      at_(length ? *length : out.size()) {}

LogLine::~LogLine() {
  end();
}

// `,"key":` as one copy of the whole key (its room covers it); ` key=` from its name.
char* LogKey::write(char* at, LogFormat format) const {
  if (format == LogFormat::json) {
    std::memcpy(at, this, kRoom);
    return at + size_;
  }
  *at = ' ';
  at = put(at + 1, name());
  *at = '=';
  return at + 1;
}

LogLine& LogLine::text(LogKey key, std::string_view value, bool omit_empty) {
  if (value.empty() && omit_empty) return *this;
  // An operational message reads better whole after the prefix than as message="...".
  if (format_ == LogFormat::text && key.message()) {
    char* o = room(1 + value.size());
    *o++ = ' ';
    advance(put(o, value));
    return *this;
  }
  // Room for the worst case only when escaping may need it: asking for six octets per
  // input octet on every field made most fields grow the string (and zero-fill the growth).
  const bool bare = bare_token(value);
  char* o = this->key(
      room(LogKey::kRoom + (bare ? value.size() + 2 : json_string_room(value.size()))), key);
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

LogLine& LogLine::number(LogKey key, std::uint64_t value) {
  char* o = this->key(room(LogKey::kRoom + 24), key);
  advance(std::to_chars(o, o + 24, value).ptr);
  return *this;
}

LogLine& LogLine::flag(LogKey key, bool value) {
  char* o = this->key(room(LogKey::kRoom + 5), key);
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
  if (length_ != nullptr) {
    *length_ = at_;  // the room stays for the next line
  } else {
    out_.resize(at_);  // the room not used
  }
}

}  // namespace mxring::engine
