// `mxring spool prune --older-than SECONDS`: the retention pass mxringd runs at each segment
// rotation (--retention), for a stopped server or a cron job.
#include <iostream>

#include "mxring/engine/spool_retention.h"
#include "spool_subcommands.h"

namespace mxring::tools::spool {

void add_prune_command(CLI::App* spool, const std::string& directory, int& exit_code) {
  static std::int64_t older_than = 0;
  static bool dry_run = false;
  auto* command =
      spool->add_subcommand("prune", "Delete old segments every registered cursor has read past");
  command->add_option("--older-than", older_than, "Seconds since the segment's last write")
      ->required()
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--dry-run", dry_run, "Only say what would be deleted");
  command->callback([&] {
    const auto report = engine::apply_retention(directory, older_than, std::nullopt, dry_run);
    for (const auto& path : report.deleted)
      std::cout << (dry_run ? "would delete " : "deleted ") << path << "\n";
    for (const auto& line : report.held) std::cout << "kept " << line << "\n";
    for (const auto& error : report.errors) std::cerr << "mxring spool prune: " << error << "\n";
    std::cout << report.deleted.size() << " segments, " << report.bytes_deleted << " octets"
              << (dry_run ? " would be" : "") << " deleted; " << report.held.size()
              << " held by lagging cursors\n";
    exit_code = report.errors.empty() ? 0 : 1;
  });
}

}  // namespace mxring::tools::spool
