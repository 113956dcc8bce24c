// mxringd's log: operational lines (start, stop, faults) and structured events (one line per
// connection and per transaction), as JSON lines or as text for a person at a terminal.
//
// Nothing here blocks a reactor on I/O: once start_logging() has run, lines are queued in
// memory and one writer thread writes them. A reactor builds its event lines in its own
// EventLog buffer and hands them over once per loop turn with a try-lock; when the writer
// cannot keep up, lines are dropped and counted, never waited for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace mxring::engine {

enum class Level : unsigned char { debug, info, warning, error };
enum class LogFormat : unsigned char { text, json };

struct LogOptions {
  LogFormat format = LogFormat::json;
  std::string path;  // empty: stderr
  Level level = Level::info;
  std::uint32_t sample = 1;  // keep 1 in `sample` info-level connection and transaction lines
};

// Opens the destination and starts the writer thread. False (and why) when the file cannot
// be opened; logging then stays direct to stderr.
bool start_logging(const LogOptions& options, std::string& error);
// SIGHUP: the new level and sampling, and the file opened again (after logrotate moved it).
bool reconfigure_logging(const LogOptions& options, std::string& error);
// Writes out everything queued and stops the writer (lines after this go straight out).
void stop_logging();

void set_log_level(Level minimum);
bool log_enabled(Level level);
// Lines dropped because the writer could not keep up (a metric).
std::uint64_t log_lines_dropped();

// An operational line.
void log(Level level, std::string_view message);

// A field's key, made at compile time from a literal: `"queue_id"_key` holds `,"queue_id":`
// as a JSON line writes it, in 32 octets a line copies whole. A key then costs a line one
// fixed-size copy of a constant, not a few appends of a length it learns at run time: a busy
// server writes a dozen keys a message. (Text lines, for a person at a terminal, write
// ` queue_id=` from the same octets.)
class LogKey {
 public:
  static constexpr std::size_t kRoom = 32;  // octets a key's copy covers at the cursor

  consteval LogKey(const char* name, std::size_t size) {
    if (size + 4 > sizeof json_) throw "a key fits its copy";  // not a constant: no build
    std::size_t at = 0;
    json_[at++] = ',';
    json_[at++] = '"';
    for (std::size_t i = 0; i < size; ++i) json_[at++] = name[i];
    json_[at++] = '"';
    json_[at++] = ':';
    size_ = static_cast<unsigned char>(at);
    message_ = std::string_view(name, size) == "message";
  }

  // Writes the key at `at` (kRoom octets of room) and returns where it ends.
  char* write(char* at, LogFormat format) const;
  std::string_view json() const { return {json_, size_}; }
  std::string_view name() const { return {json_ + 2, size_ - 4u}; }
  // The operational line's message, which text writes bare after the prefix.
  bool message() const { return message_; }

 private:
  char json_[kRoom - 2]{};
  unsigned char size_ = 0;
  bool message_ = false;
};
static_assert(sizeof(LogKey) == LogKey::kRoom, "a key is copied whole");

consteval LogKey operator""_key(const char* name, std::size_t size) {
  return LogKey(name, size);
}

// Lines being written: the octets [0, size()) of a string whose own size is the room made so
// far. std::string zero-fills whatever it grows by, so a string cut back to its lines after
// each one would zero-fill a line's room again for every line; this keeps its room, so a
// reactor's buffer, cleared once a loop turn, soon grows no more.
class LineBuffer {
 public:
  LineBuffer() = default;
  LineBuffer(LineBuffer&& other) noexcept { swap(other); }
  LineBuffer& operator=(LineBuffer&& other) noexcept {
    swap(other);
    other.clear();
    return *this;
  }

  std::string_view view() const { return {bytes_.data(), size_}; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Octets held, lines and room.
  std::size_t footprint() const { return bytes_.capacity(); }
  void clear() { size_ = 0; }
  // Lines written elsewhere.
  void append(std::string_view lines);
  // Gives the memory back (a buffer that once held far more than it usually does).
  void release() {
    std::string().swap(bytes_);
    size_ = 0;
  }
  void swap(LineBuffer& other) noexcept {
    bytes_.swap(other.bytes_);
    std::swap(size_, other.size_);
  }

 private:
  friend class LogLine;
  std::string bytes_;
  std::size_t size_ = 0;
};

// One event line, built field by field into a buffer:
//   json: {"ts":"2026-11-28T12:00:00.123456Z","level":"info","event":"transaction","k":v,...}
//   text: 2026-11-28T12:00:00.123456Z info: mxringd: transaction k=v k="a b" ...
class LogLine {
 public:
  // `unix_us`: the line's time in microseconds since the epoch; negative reads the clock.
  LogLine(std::string& out, LogFormat format, Level level, std::string_view event,
          std::int64_t unix_us = -1)
      : LogLine(out, nullptr, format, level, event, unix_us) {}
  LogLine(LineBuffer& out, LogFormat format, Level level, std::string_view event,
          std::int64_t unix_us = -1)
      : LogLine(out.bytes_, &out.size_, format, level, event, unix_us) {}
  // Fields only, no head and no end: to be added to a line later with fields().
  static LogLine fragment(std::string& out, LogFormat format) {
    return LogLine(out, nullptr, format);
  }
  static LogLine fragment(LineBuffer& out, LogFormat format) {
    return LogLine(out.bytes_, &out.size_, format);
  }
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  ~LogLine();

  // Client-supplied text is escaped (JSON, and quoted in text when it needs it); an empty
  // value is left out.
  LogLine& text(LogKey key, std::string_view value, bool omit_empty = true);
  LogLine& number(LogKey key, std::uint64_t value);
  LogLine& flag(LogKey key, bool value);
  // What a fragment of the same format wrote.
  LogLine& fields(std::string_view written);
  void end();

  LogFormat format() const { return format_; }

 private:
  // `length`: the LineBuffer's count of octets in `out` that are lines, or null for a string
  // that holds lines only.
  LogLine(std::string& out, std::size_t* length, LogFormat format, Level level,
          std::string_view event, std::int64_t unix_us);
  LogLine(std::string& out, std::size_t* length, LogFormat format);
  // At least `n` writable octets at the cursor. Inline: every field asks, and it is
  // usually one comparison.
  char* room(std::size_t n) {
    if (out_.size() - at_ < n) grow(n);
    return out_.data() + at_;
  }
  void grow(std::size_t n);
  void advance(const char* end) { at_ = static_cast<std::size_t>(end - out_.data()); }
  char* key(char* at, const LogKey& key) const { return key.write(at, format_); }

  std::string& out_;
  std::size_t* length_;
  LogFormat format_;
  bool ended_ = false;
  std::size_t at_;  // where the next octet goes; out_ holds room past it until end()
};

// A thread's event lines, handed to the writer without waiting (reactors).
class EventLog {
 public:
  EventLog();
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Whether an event at `level` is written at all; info-level events are also sampled.
  bool wants(Level level);
  LogLine line(Level level, std::string_view event) {
    return LogLine(buffer_, format_, level, event, clock_us_);
  }
  // A reactor reads the clock once a loop turn; its lines carry that time (µs since the
  // epoch; negative: each line reads the clock).
  void set_clock(std::int64_t unix_us) { clock_us_ = unix_us; }
  LogFormat format() const { return format_; }
  // Hands the buffered lines to the writer if its queue is free now; else keeps them for the
  // next call (and drops them, counted, past a bound).
  void flush();
  // SIGHUP may change the format or sampling: called by the owning thread between turns.
  void refresh();

 private:
  LineBuffer buffer_;
  LogFormat format_;
  std::uint32_t sample_ = 1;
  std::uint32_t skipped_ = 0;
  std::int64_t clock_us_ = -1;
};

}  // namespace mxring::engine
