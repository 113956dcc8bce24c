// The spool reader commands: list, print a message, show an envelope as JSON, verify CRCs.
#include "spool_command.h"

#include <ctime>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "envelope_json.h"
#include "mxring/engine/spool_reader.h"
#include "mxring/engine/spool_stream.h"
#include "spool_subcommands.h"

namespace mxring::tools {
namespace {

using engine::SpoolReader;
using engine::SpoolRecord;

int list(const SpoolReader& reader) {
  reader.scan([](const SpoolRecord& r) {
    const auto e = engine::spool::decode_envelope(r.view);
    std::cout << r.view.header.queue_id.view() << ' '
              << spool::iso_time(r.view.header.received_at_us) << ' '
              << r.view.header.message_length << " <" << (e ? e->mail_from : "?") << "> "
              << (e ? e->recipients.size() : 0) << '\n';
  });
  return 0;
}

bool torn_tail(const engine::SpoolProblem& p) {
  return p.status == engine::spool::ParseStatus::truncated && p.last_segment;
}

void report(const engine::SpoolProblem& p) {
  std::cerr << (torn_tail(p) ? "note: incomplete record (a write in progress or torn by a crash; "
                               "never acknowledged) at "
                             : "CORRUPT: ")
            << p.segment << " offset " << p.offset << "\n";
}

// Prints the record with queue id `id` through `print`; exit status 1 when absent, or when
// damage kept it from being read (said on stderr).
int with_record(const SpoolReader& reader, const std::string& id,
                const std::function<void(const SpoolRecord&)>& print) {
  std::vector<engine::SpoolProblem> problems;
  if (reader.find(id, print, problems)) return 0;
  for (const auto& p : problems)
    if (!torn_tail(p)) report(p);
  std::cerr << "mxring spool: no message " << id << "\n";
  return 1;
}

int verify(const SpoolReader& reader) {
  std::size_t records = 0;
  const auto problems = reader.scan([&](const SpoolRecord&) { ++records; });
  int status = 0;
  for (const auto& p : problems) {
    report(p);
    if (!torn_tail(p)) status = 1;
  }
  std::cout << records << " records in " << reader.segments().size() << " segments"
            << (status == 0 ? ", all CRCs good" : ", CORRUPTION FOUND") << "\n";
  return status;
}

// ls, cat, show and verify read what is there now. A directory with no writer directories
// (0/, 1/, …) is not a spool, often one writer's directory or a wrong path, and
// "0 records in 0 segments, all CRCs good" would let that pass unnoticed.
bool holds_a_spool(const std::string& directory) {
  if (!engine::spool_writers(directory).empty()) return true;
  const bool writer_directory = !engine::segment_sequences(directory).empty();
  std::cerr << "mxring spool: " << directory << " is not a spool: no writer directories (0/, 1/, …)"
            << (writer_directory ? "; it holds segments, so it is one writer's: give its parent"
                                 : "")
            << "\n";
  return false;
}

// Runs `read` on the spool at `directory`, or exits 2 when there is none.
std::function<void()> reading(const std::string& directory, int& exit_code,
                              std::function<int()> read) {
  return [&directory, &exit_code, read = std::move(read)] {
    exit_code = holds_a_spool(directory) ? read() : 2;
  };
}

}  // namespace

void add_spool_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "spool", "Read the spool: ls, cat, show, verify, export, tail, replay, prune");
  static std::string directory, id;
  command->add_option("--dir", directory, "Spool directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  command->require_subcommand(1);
  auto* ls = command->add_subcommand("ls", "One message a line: id, time, size, from, rcpt count");
  auto* cat = command->add_subcommand("cat", "The exact stored message bytes");
  cat->add_option("id", id, "Queue id")->required();
  auto* show = command->add_subcommand("show", "The envelope as JSON");
  show->add_option("id", id, "Queue id")->required();
  auto* check =
      command->add_subcommand("verify", "Check every record's CRC; non-zero on corruption");
  ls->callback(reading(directory, exit_code, [] { return list(SpoolReader(directory)); }));
  cat->callback(reading(directory, exit_code, [] {
    return with_record(SpoolReader(directory), id, [](const SpoolRecord& r) {
      std::cout.write(r.view.message.data(), static_cast<std::streamsize>(r.view.message.size()));
    });
  }));
  show->callback(reading(directory, exit_code, [] {
    return with_record(SpoolReader(directory), id, [](const SpoolRecord& r) {
      auto j = spool::envelope_json(r.view);
      j["segment"] = r.segment;
      j["offset"] = r.offset;
      std::cout << j.dump(2) << "\n";
    });
  }));
  check->callback(reading(directory, exit_code, [] { return verify(SpoolReader(directory)); }));
  spool::add_export_command(command, directory, exit_code);
  spool::add_tail_command(command, directory, exit_code);
  spool::add_replay_command(command, directory, exit_code);
  spool::add_prune_command(command, directory, exit_code);
  spool::add_forward_command(command, directory, exit_code);
}

}  // namespace mxring::tools
