// `mxring spool tail`: hands committed records on in order and saves the cursor after each
// hand-over, so a consumer killed at any point resumes at least once with no gap.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "message_command.h"
#include "message_writers.h"
#include "mxring/engine/spool_cursor_file.h"
#include "mxring/engine/spool_stream.h"
#include "spool_subcommands.h"

namespace mxring::tools::spool {
namespace {

constexpr int kTemporaryFailure = 75;  // EX_TEMPFAIL, sysexits.h

struct TailOptions {
  std::string cursor, format = "jsonl", out = "-", exec;
  bool follow = false, per_recipient = false;
  std::uint32_t exec_timeout = 1000;  // Postfix's command_time_limit
  std::size_t batch = 4096;
};

class Tail {
 public:
  Tail(const std::string& directory, TailOptions& options, std::string cursor_file,
       engine::SpoolCursor cursor)
      : options_(options), cursor_file_(std::move(cursor_file)), stream_(directory, cursor) {}

  int run(std::unique_ptr<MessageWriter> writer) {
    writer_ = std::move(writer);
    auto idle = std::chrono::milliseconds(1);
    while (!stop_requested()) {
      std::size_t taken = 0;
      const auto handed = stream_.poll([&](const engine::StreamedRecord& record) {
        if (taken == options_.batch || stop_requested()) return false;
        ++taken;
        return options_.exec.empty() ? writer_->write(record) : deliver(record);
      });
      if (report_stream_problems(stream_.take_problems())) status_ = 1;
      if (!options_.exec.empty()) {
        if (failed_command_) return status_;
      } else if (!writer_->error().empty() || (handed > 0 && !commit())) {
        std::cerr << "mxring spool tail: " << writer_->error() << "\n";
        return 1;
      }
      if (status_ != 0) return status_;
      if (handed > 0 || taken > 0) {
        idle = std::chrono::milliseconds(1);
        continue;
      }
      if (!options_.follow) break;
      pause_unless_stopping(idle);
      idle = std::min(idle * 2, std::chrono::milliseconds(50));
    }
    return status_;
  }

 private:
  bool commit() {
    if (!writer_->commit()) return false;
    return save(stream_.cursor());
  }

  bool save(const engine::SpoolCursor& cursor) {
    std::string error;
    if (save_cursor(cursor_file_, cursor, error)) return true;
    std::cerr << "mxring spool tail: " << error << "\n";
    status_ = 1;
    return false;
  }

  // Runs the command for one record, once or once for each group of its recipients; the
  // cursor moves past it only when every run exited 0. Exit 75 (EX_TEMPFAIL), or a run
  // killed at --exec-timeout, is retried with back-off while following, from the run that
  // deferred: the runs before it are not repeated while tail lives (after a restart they
  // are: at least once).
  bool deliver(const engine::StreamedRecord& record) {
    const auto envelope = engine::spool::decode_envelope(record.view).value_or(engine::Envelope{});
    const auto runs = recipient_runs(envelope.recipients, options_.per_recipient);
    auto delay = std::chrono::milliseconds(500);
    for (std::size_t run = 0; run < runs.size();) {
      const int status = run_message_command(options_.exec, record.view, envelope, runs[run],
                                             std::chrono::seconds(options_.exec_timeout));
      if (status == 0) {
        ++run;
        continue;
      }
      const auto id = std::string(record.view.header.queue_id.view());
      const bool temporary = status == kTemporaryFailure || status == kCommandTimedOut;
      const auto outcome = status == kCommandTimedOut
                               ? "killed after " + std::to_string(options_.exec_timeout) + " s"
                           : status == kCommandFailed
                               ? std::string("not started, or ended by a signal")
                               : "exit " + std::to_string(status);
      if (temporary && options_.follow && !stop_requested()) {
        std::cerr << "mxring spool tail: --exec deferred " << id << " (" << outcome
                  << "); retrying in " << delay.count() << " ms\n";
        pause_unless_stopping(delay);
        delay = std::min(delay * 2, std::chrono::milliseconds(60'000));
        if (!stop_requested()) continue;
      }
      std::cerr << "mxring spool tail: --exec failed for " << id << " (" << outcome
                << "); the cursor stays before it\n";
      status_ = temporary ? kTemporaryFailure : 1;
      failed_command_ = true;
      return false;
    }
    auto cursor = stream_.cursor();
    cursor[record.writer] = record.next;
    if (save(cursor)) return true;
    failed_command_ = true;
    return false;
  }

  TailOptions& options_;
  std::string cursor_file_;
  engine::SpoolStream stream_;
  std::unique_ptr<MessageWriter> writer_;
  int status_ = 0;
  bool failed_command_ = false;
};

int run_tail(const std::string& directory, TailOptions& options) {
  std::string error;
  std::string path;
  auto cursor = open_consumer_cursor(directory, options.cursor, path, error);
  const auto format = parse_format(options.format);
  if (cursor && !format) error = "unknown format " + options.format;
  std::unique_ptr<MessageWriter> writer;
  if (cursor && format && options.exec.empty())
    writer = make_message_writer(*format, options.out, true, error);
  if (!cursor || (options.exec.empty() && !writer)) {
    std::cerr << "mxring spool tail: " << error << "\n";
    return 2;
  }
  stop_on_signals();
  signal(SIGPIPE, SIG_IGN);
  Tail tail(directory, options, path, std::move(*cursor));
  return tail.run(std::move(writer));
}

}  // namespace

void add_tail_command(CLI::App* spool, const std::string& directory, int& exit_code) {
  static TailOptions options;
  auto* command = spool->add_subcommand(
      "tail", "Hand committed messages on from a saved cursor (at least once, no gaps)");
  command
      ->add_option("--cursor", options.cursor,
                   "A name (kept in <spool>/cursors/, which retention respects) or a path")
      ->required();
  command->add_flag("--follow,-f", options.follow,
                    "Keep waiting for new messages until SIGINT/SIGTERM");
  command->add_option("--format", options.format, "jsonl (default), mbox, eml or maildir");
  command->add_option("--out", options.out,
                      "Where the format writes ('-': standard output; appended to)");
  auto* exec = command->add_option("--exec", options.exec,
                                   "Run `sh -c CMD` per message (message on stdin, envelope in the "
                                   "environment); the cursor advances on exit 0, exit 75 retries");
  command
      ->add_flag("--per-recipient", options.per_recipient,
                 "With --exec: run CMD once for each recipient (RECIPIENT), as an MDA "
                 "such as procmail -d or dovecot-lda -d delivering to one user wants")
      ->needs(exec);
  command
      ->add_option("--exec-timeout", options.exec_timeout,
                   "Seconds a run may take before it (and all it started) is killed and the "
                   "message deferred, default 1000 (Postfix's command_time_limit); 0: none")
      ->needs(exec);
  command->add_option("--batch", options.batch, "Messages per cursor save, default 4096")
      ->check(CLI::Range(1, 1 << 20));
  command->callback([&] { exit_code = run_tail(directory, options); });
}

}  // namespace mxring::tools::spool
