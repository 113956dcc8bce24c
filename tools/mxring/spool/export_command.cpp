// `mxring spool export`: every committed record (or a selection) in one format, streamed.
#include <sys/stat.h>

#include <iostream>

#include "message_writers.h"
#include "mxring/engine/spool_stream.h"
#include "progress_line.h"
#include "record_selection.h"
#include "spool_subcommands.h"

namespace mxring::tools::spool {
namespace {

struct ExportOptions {
  std::string format = "jsonl", out = "-";
  RecordSelection selection;
};

std::uint64_t spool_bytes(const std::string& directory) {
  std::uint64_t total = 0;
  for (const auto writer : engine::spool_writers(directory)) {
    const auto writer_directory = directory + "/" + std::to_string(writer);
    for (const auto sequence : engine::segment_sequences(writer_directory)) {
      struct stat info {};
      if (stat(engine::segment_path(writer_directory, sequence).c_str(), &info) == 0)
        total += static_cast<std::uint64_t>(info.st_size);
    }
  }
  return total;
}

int run_export(const std::string& directory, ExportOptions& options) {
  std::string error;
  const auto format = parse_format(options.format);
  if (!format) error = "unknown format " + options.format + " (eml, mbox, jsonl, maildir)";
  if (error.empty()) options.selection.resolve(error);
  auto writer = error.empty() ? make_message_writer(*format, options.out, false, error) : nullptr;
  if (!writer) {
    std::cerr << "mxring spool export: " << error << "\n";
    return 2;
  }
  engine::SpoolStream stream(directory, {});
  ProgressLine progress("export", spool_bytes(directory));
  std::uint64_t read = 0, exported = 0, octets = 0;
  stream.poll([&](const engine::StreamedRecord& record) {
    read += record.next.offset - record.at.offset;
    progress.update(read, exported);
    if (!options.selection.selects(record.view)) return true;
    if (!writer->write(record)) return false;
    ++exported;
    octets += record.view.message.size();
    return true;
  });
  const bool written = writer->error().empty() && writer->commit();
  progress.finish(read, exported);
  const bool corrupt = report_stream_problems(stream.take_problems());
  if (!written) {
    std::cerr << "mxring spool export: " << writer->error() << "\n";
    return 1;
  }
  std::cerr << "exported " << exported << " messages, " << octets << " octets\n";
  return corrupt ? 1 : 0;
}

}  // namespace

bool report_stream_problems(const std::vector<engine::SpoolProblem>& problems) {
  bool corrupt = false;
  for (const auto& p : problems) {
    if (p.gap) {
      std::cerr << "warning: " << p.segment
                << " was deleted before it was read (the cursor lagged behind retention)\n";
    } else if (p.status == engine::spool::ParseStatus::truncated) {
      std::cerr << "note: an incomplete record (never acknowledged) at " << p.segment << " offset "
                << p.offset << " was skipped\n";
    } else {
      std::cerr << "CORRUPT: " << p.segment << " offset " << p.offset
                << "; this writer's later records were not read\n";
      corrupt = true;
    }
  }
  return corrupt;
}

void add_export_command(CLI::App* spool, const std::string& directory, int& exit_code) {
  static ExportOptions options;
  auto* command = spool->add_subcommand(
      "export", "Stream every committed message (or a selection) as eml, mbox, jsonl or maildir");
  command->add_option("--format", options.format, "jsonl (default), mbox, eml or maildir");
  command->add_option("--out", options.out,
                      "A file for jsonl/mbox ('-', the default: standard output), a directory "
                      "for eml/maildir");
  options.selection.add_options(command);
  command->callback([&] { exit_code = run_export(directory, options); });
}

}  // namespace mxring::tools::spool
