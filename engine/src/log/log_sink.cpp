// The log's one writer thread and the queue in front of it. Producers append under a mutex
// held only for a memcpy (reactors only try it); the writer swaps the queue out and writes
// it with no lock held, so a slow disk or a full pipe stalls the writer, never a producer.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "log_appender.h"
#include "mxring/engine/log.h"
#include "thread_name.h"

namespace mxring::engine {
namespace {

// Past this many queued octets lines are dropped (and counted) rather than queued.
constexpr std::size_t kQueueLimit = 16u << 20;
// A reactor's own buffer is handed over at least this often (in octets) ...
constexpr std::size_t kProducerLimit = 4u << 20;
// ... and the writer collects what has queued at most this often, so a quiet server makes
// a few writes a second rather than one per line ...
constexpr auto kWriterPause = std::chrono::milliseconds(20);
// ... or sooner, once this much has queued. The queue and the writer's batch trade buffers,
// so holding each to about this size keeps both in the core's cache: a busy reactor appends
// its lines to memory it wrote a moment ago, not to cold memory (at 100,000 lines a second,
// 20 ms of lines is half a megabyte).
constexpr std::size_t kWriteBatch = 256u << 10;

struct LogFile {
  int fd = STDERR_FILENO;  // appends
  int direct_fd = -1;      // the same file for direct I/O (LogAppender), or -1
};

struct Sink {
  std::mutex mutex;
  std::condition_variable wake;
  std::string queue;
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

void writer_loop() {
  name_this_thread("log");
  auto& s = sink();
  std::string batch;
  std::vector<LogFile> retired;
  LogAppender appender;
  std::uint64_t followed_generation = 0;
  std::unique_lock lock(s.mutex);
  for (;;) {
    const auto work = [&] { return s.stopping || !s.queue.empty() || !s.retired.empty(); };
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
      s.wake.wait_for(lock, kWriterPause,
                      [&] { return s.stopping || s.queue.size() >= kWriteBatch; });
    batch.swap(s.queue);
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
    appender.append(batch);
    // A batch the pause collected, not one that filled: the queue is quiet, so nothing is
    // held back from the file's readers.
    if (last || batch.size() < kWriteBatch) appender.settle();
    batch.clear();
    if (batch.capacity() > kQueueLimit) batch.shrink_to_fit();
    if (last) return;
    lock.lock();
  }
}

// Appends `bytes` (whole lines) to the queue, or drops them (counted) past its limit, then
// lets go of `lock` (held on the sink's mutex) and wakes the writer if it waits for these
// lines. Waking it only once the mutex is free matters: a writer woken while the mutex is
// still held wakes only to sleep on the mutex, and is woken again when it is let go, two more
// context switches on the core it shares with a reactor.
void enqueue_and_wake(Sink& s, std::unique_lock<std::mutex>& lock, std::string_view bytes) {
  bool wake = false;
  if (s.queue.size() + bytes.size() > kQueueLimit) {
    s.dropped.fetch_add(count_lines(bytes), std::memory_order_relaxed);
  } else {
    const auto before = s.queue.size();
    s.queue.append(bytes);
    wake = before == 0 || (before < kWriteBatch && s.queue.size() >= kWriteBatch);
  }
  lock.unlock();
  if (wake) s.wake.notify_one();
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
  write_all(s.file.fd, s.queue);
  s.queue.clear();
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
  std::string line;
  LogLine(line, s.format.load(std::memory_order_relaxed), level, "log")
      .text("message"_key, message);
  std::unique_lock lock(s.mutex);
  if (s.running) {
    enqueue_and_wake(s, lock, line);
  } else {
    lock.unlock();
    write_all(STDERR_FILENO, line);  // before start or after stop: one write, whole
  }
}

EventLog::EventLog() {
  refresh();
}

EventLog::~EventLog() {
  flush();
  if (!buffer_.empty()) {
    std::unique_lock lock(sink().mutex);
    enqueue_and_wake(sink(), lock, buffer_.view());
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

void EventLog::flush() {
  if (buffer_.empty()) return;
  auto& s = sink();
  std::unique_lock lock(s.mutex, std::try_to_lock);
  if (!lock.owns_lock()) {
    if (buffer_.size() > kProducerLimit) {
      s.dropped.fetch_add(count_lines(buffer_.view()), std::memory_order_relaxed);
      buffer_.clear();
    }
    return;
  }
  if (!s.running) {
    lock.unlock();
    write_all(STDERR_FILENO, buffer_.view());
  } else {
    enqueue_and_wake(s, lock, buffer_.view());
  }
  buffer_.clear();
  if (buffer_.footprint() > kProducerLimit) buffer_.release();
}

}  // namespace mxring::engine
