// mxringd's log: operational lines (start, stop, faults) and structured events (one line per
// connection and per transaction), as JSON lines or as text for a person at a terminal.
//
// Nothing here blocks a reactor on I/O: once start_logging() has run, lines are queued in
// memory and one writer thread writes them. A reactor builds its event lines in its own
// EventLog buffer and hands them over once per loop turn with a try-lock; when the writer
// cannot keep up, lines are dropped and counted, never waited for.
#pragma once

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

// One event line, built field by field into a buffer:
//   json: {"ts":"2026-11-28T12:00:00.123456Z","level":"info","event":"transaction","k":v,...}
//   text: 2026-11-28T12:00:00.123456Z info: mxringd: transaction k=v k="a b" ...
class LogLine {
 public:
  // `unix_us`: the line's time in microseconds since the epoch; negative reads the clock.
  LogLine(std::string& out, LogFormat format, Level level, std::string_view event,
          std::int64_t unix_us = -1);
  // Fields only, no head and no end: to be added to a line later with fields().
  static LogLine fragment(std::string& out, LogFormat format) { return LogLine(out, format); }
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  ~LogLine();

  // Client-supplied text is escaped (JSON, and quoted in text when it needs it); an empty
  // value is left out.
  LogLine& text(std::string_view key, std::string_view value, bool omit_empty = true);
  LogLine& number(std::string_view key, std::uint64_t value);
  LogLine& flag(std::string_view key, bool value);
  // What a fragment of the same format wrote.
  LogLine& fields(std::string_view written);
  void end();

  LogFormat format() const { return format_; }

 private:
  LogLine(std::string& out, LogFormat format);
  // At least `n` writable octets at the cursor. Inline: every field asks, and it is
  // usually one comparison.
  char* room(std::size_t n) {
    if (out_.size() - at_ < n) grow(n);
    return out_.data() + at_;
  }
  void grow(std::size_t n);
  void advance(const char* end) { at_ = static_cast<std::size_t>(end - out_.data()); }
  char* key(char* at, std::string_view key) const;

  std::string& out_;
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
  std::string buffer_;
  LogFormat format_;
  std::uint32_t sample_ = 1;
  std::uint32_t skipped_ = 0;
  std::int64_t clock_us_ = -1;
};

}  // namespace mxring::engine
