// The log's one writer thread and the queue in front of it. The queue is a list of producers'
// buffers: a producer hands its buffer over whole and takes a spare one back, under a mutex
// held for a few pointer moves (reactors only try it), so no producer copies its lines. The
// writer takes the list and writes it with no lock held, so a slow disk or a full pipe stalls
// the writer, never a producer.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "log_appender.h"
#include "mxring/engine/log.h"
#include "thread_name.h"

namespace mxring::engine {
namespace {

// Past this many queued octets lines are dropped (and counted) rather than queued.
constexpr std::size_t kQueueLimit = 16u << 20;
// A reactor drops its lines past this, when the queue stays busy (counted) ...
constexpr std::size_t kProducerLimit = 4u << 20;
// ... and the writer collects what has queued at most this often, so a quiet server makes
// a few writes a second rather than one per line ...
constexpr auto kWriterPause = std::chrono::milliseconds(20);
// ... or sooner, once this much has queued: a few reactors' hand-overs (EventLog::kHandOver),
// whose buffers come back as spares while they are still in the core's cache (at 100,000
// lines a second, 20 ms of lines is half a megabyte).
constexpr std::size_t kWriteBatch = 256u << 10;

struct LogFile {
  int fd = STDERR_FILENO;  // appends
  int direct_fd = -1;      // the same file for direct I/O (LogAppender), or -1
};

struct Sink {
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<LineBuffer> queue;
  std::size_t queued = 0;  // octets of lines in `queue`
  // Buffers the writer is done with, for producers to take in exchange for theirs: each keeps
  // the room it grew, so a busy reactor writes its lines into memory that needs no growing.
  std::vector<LineBuffer> spares;
  bool running = false;
  bool stopping = false;
  LogFile file;
  bool own_file = false;            // a file opened here (else stderr)
  std::uint64_t fd_generation = 0;  // counts changes of `file` (start, reload)
  // Log files replaced on reload, closed by the writer once it follows the new one.
  std::vector<LogFile> retired;
  std::thread writer;

  std::atomic<Level> level{Level::info};
  std::atomic<LogFormat> format{LogFormat::json};
  std::atomic<std::uint32_t> sample{1};
  std::atomic<std::uint64_t> dropped{0};
};

Sink& sink() {
  static Sink instance;
  return instance;
}

// The file, opened to append, and for a regular file a second time to append with direct I/O
// (when the file system takes it: LogAppender).
bool open_log_file(const std::string& path, LogFile& file, std::string& error) {
  file.fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (file.fd < 0) {
    error = "cannot open log file " + path + ": " + std::strerror(errno);
    return false;
  }
  file.direct_fd =
      regular_file(file.fd) ? ::open(path.c_str(), O_WRONLY | O_APPEND | O_DIRECT | O_CLOEXEC) : -1;
  return true;
}

void close_log_file(LogFile& file) {
  if (file.direct_fd >= 0) ::close(file.direct_fd);
  ::close(file.fd);
  file = LogFile{};
}

std::size_t count_lines(std::string_view bytes) {
  std::size_t n = 0;
  for (const char c : bytes) n += c == '\n';
  return n;
}

// The number of spare buffers kept (a few batches' worth), and the room one may keep.
constexpr std::size_t kSpares = 16;
constexpr std::size_t kSpareFootprint = 1u << 20;

void writer_loop() {
  name_this_thread("log");
  auto& s = sink();
  std::vector<LineBuffer> batch;
  std::size_t batch_size = 0;
  std::string joined;  // a batch as one write, for a destination without direct I/O
  std::vector<LogFile> retired;
  LogAppender appender;
  std::uint64_t followed_generation = 0;
  std::unique_lock lock(s.mutex);
  for (;;) {
    const auto work = [&] { return s.stopping || s.queued > 0 || !s.retired.empty(); };
    if (!appender.holding()) {
      s.wake.wait(lock, work);
    } else if (!s.wake.wait_for(lock, kWriterPause, work)) {
      // The last batch filled and nothing came after it: what the appender held goes out.
      lock.unlock();
      appender.settle();
      lock.lock();
      continue;
    }
    if (!s.stopping)
      s.wake.wait_for(lock, kWriterPause, [&] { return s.stopping || s.queued >= kWriteBatch; });
    batch.swap(s.queue);
    batch_size = std::exchange(s.queued, 0);
    const LogFile file = s.file;
    const std::uint64_t generation = s.fd_generation;
    const bool last = s.stopping;
    retired.swap(s.retired);
    lock.unlock();
    if (generation != followed_generation) {
      appender.follow(file.fd, file.direct_fd);  // the old file gets what it is owed first
      followed_generation = generation;
    }
    // Nothing is written to a file replaced on reload once the appender follows its successor.
    for (auto& old : retired) close_log_file(old);
    retired.clear();
    if (appender.direct()) {
      for (const auto& lines : batch) appender.append(lines.view());
    } else {
      joined.clear();
      for (const auto& lines : batch) joined += lines.view();
      appender.append(joined);
      if (joined.capacity() > kQueueLimit) std::string().swap(joined);
    }
    // A batch the pause collected, not one that filled: the queue is quiet, so nothing is
    // held back from the file's readers.
    if (last || batch_size < kWriteBatch) appender.settle();
    if (last) return;
    lock.lock();
    for (auto& lines : batch) {
      if (s.spares.size() >= kSpares) break;
      lines.clear();
      if (lines.footprint() > kSpareFootprint) lines.release();
      s.spares.push_back(std::move(lines));
    }
    batch.clear();
  }
}

// Hands `lines` over to the writer (a spare, or nothing, takes their place); false when the
// queue is over its limit (dropped, and `lines` cleared).
bool enqueue_locked(Sink& s, LineBuffer& lines) {
  if (s.queued + lines.size() > kQueueLimit) {
    s.dropped.fetch_add(count_lines(lines.view()), std::memory_order_relaxed);
    lines.clear();
    return false;
  }
  const auto before = s.queued;
  s.queued += lines.size();
  s.queue.push_back(std::move(lines));
  if (!s.spares.empty()) {
    lines = std::move(s.spares.back());
    s.spares.pop_back();
  }
  if (before == 0 || (before < kWriteBatch && s.queued >= kWriteBatch)) s.wake.notify_one();
  return true;
}

void apply_settings(Sink& s, const LogOptions& options) {
  s.level.store(options.level, std::memory_order_relaxed);
  s.format.store(options.format, std::memory_order_relaxed);
  s.sample.store(std::max<std::uint32_t>(1, options.sample), std::memory_order_relaxed);
}

}  // namespace

bool start_logging(const LogOptions& options, std::string& error) {
  auto& s = sink();
  LogFile file;
  if (!options.path.empty() && !open_log_file(options.path, file, error)) return false;
  apply_settings(s, options);
  std::lock_guard lock(s.mutex);
  s.file = file;
  s.own_file = !options.path.empty();
  ++s.fd_generation;
  s.stopping = false;
  s.running = true;
  s.writer = std::thread(writer_loop);
  return true;
}

bool reconfigure_logging(const LogOptions& options, std::string& error) {
  auto& s = sink();
  apply_settings(s, options);
  LogFile file;
  if (!options.path.empty() && !open_log_file(options.path, file, error)) return false;
  std::lock_guard lock(s.mutex);
  // The writer may be writing a batch to the old file now: it closes it once it is not.
  if (s.own_file) {
    if (s.running) {
      s.retired.push_back(s.file);
      s.wake.notify_one();
    } else {
      close_log_file(s.file);
    }
  }
  s.file = file;
  s.own_file = !options.path.empty();
  ++s.fd_generation;
  return true;
}

void stop_logging() {
  auto& s = sink();
  {
    std::lock_guard lock(s.mutex);
    if (!s.running) return;
    s.stopping = true;
    s.wake.notify_one();
  }
  s.writer.join();
  std::lock_guard lock(s.mutex);
  s.running = false;
  for (const auto& lines : s.queue) write_all(s.file.fd, lines.view());
  s.queue.clear();
  s.queued = 0;
  if (s.own_file) close_log_file(s.file);
  s.file = LogFile{};
  s.own_file = false;
}

void set_log_level(Level minimum) {
  sink().level.store(minimum, std::memory_order_relaxed);
}

bool log_enabled(Level level) {
  return level >= sink().level.load(std::memory_order_relaxed);
}

std::uint64_t log_lines_dropped() {
  return sink().dropped.load(std::memory_order_relaxed);
}

void log(Level level, std::string_view message) {
  if (!log_enabled(level)) return;
  auto& s = sink();
  LineBuffer line;
  LogLine(line, s.format.load(std::memory_order_relaxed), level, "log")
      .text("message"_key, message);
  std::unique_lock lock(s.mutex);
  if (s.running) {
    enqueue_locked(s, line);
  } else {
    lock.unlock();
    write_all(STDERR_FILENO, line.view());  // before start or after stop: one write, whole
  }
}

EventLog::EventLog() {
  refresh();
}

EventLog::~EventLog() {
  flush(/*now=*/true);
  if (!buffer_.empty()) {
    std::lock_guard lock(sink().mutex);
    enqueue_locked(sink(), buffer_);
  }
}

void EventLog::refresh() {
  format_ = sink().format.load(std::memory_order_relaxed);
  sample_ = sink().sample.load(std::memory_order_relaxed);
}

bool EventLog::wants(Level level) {
  if (!log_enabled(level)) return false;
  if (level != Level::info || sample_ <= 1) return true;
  if (++skipped_ < sample_) return false;
  skipped_ = 0;
  return true;
}

void EventLog::flush(bool now) {
  if (buffer_.empty()) {
    held_since_us_ = clock_us_;  // lines written from now on are at most this old
    return;
  }
  // Without a clock set (-1), every call is a hand-over.
  if (!now && clock_us_ >= 0 && buffer_.size() < kHandOver &&
      clock_us_ - held_since_us_ < kHandOverAgeUs)
    return;
  auto& s = sink();
  std::unique_lock lock(s.mutex, std::try_to_lock);
  if (!lock.owns_lock()) {
    if (buffer_.size() > kProducerLimit) {
      s.dropped.fetch_add(count_lines(buffer_.view()), std::memory_order_relaxed);
      buffer_.clear();
    }
    return;
  }
  held_since_us_ = clock_us_;
  if (!s.running) {
    lock.unlock();
    write_all(STDERR_FILENO, buffer_.view());
    buffer_.clear();
  } else {
    // Without a spare the buffer starts empty and grows with its lines (doubling), so a
    // stalled writer's queue holds little more memory than lines, however small each
    // hand-over.
    enqueue_locked(s, buffer_);
  }
}

}  // namespace mxring::engine
