// BM_GroupCommit: durable records/s through a real SpoolWriter (fsync durability, 1 KiB
// messages) with a fixed number of messages outstanding, as that many connections each
// waiting for their 250 would keep; args: syncs in flight, messages outstanding, direct I/O
// (0: pwritev + fdatasync; 1: O_DIRECT | O_DSYNC writes into zero-filled segments). It measures
// the disk under the spool directory (MXRING_BENCH_DIR, default the system temp directory),
// so it belongs beside an fdatasync figure of the same machine, not in a timed test. Each run
// checks that every message was answered `stored`.
#include <benchmark/benchmark.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "storage/spool_writer.h"

namespace mxring::bench {
namespace {

using engine::StorageResult;

std::filesystem::path bench_directory() {
  const char* configured = std::getenv("MXRING_BENCH_DIR");
  const std::filesystem::path base =
      configured != nullptr ? configured : std::filesystem::temp_directory_path();
  return base / ("mxring-storage-bench-" + std::to_string(getpid()));
}

std::unique_ptr<engine::Message> message(std::uint64_t n) {
  auto m = std::make_unique<engine::Message>();
  m->envelope.queue_id = engine::QueueId("B" + std::to_string(n));
  m->envelope.mail_from = "sender@client.example";
  m->envelope.recipients.push_back({"rcpt@mx.example", 0, ""});
  m->content.append(std::string(1024, 'x'));
  return m;
}

void BM_GroupCommit(benchmark::State& state) {
  const auto directory = bench_directory();
  std::filesystem::remove_all(directory);
  const auto outstanding_limit = static_cast<std::size_t>(state.range(1));
  engine::StorageChannel channel(1024);
  channel.reactor_wake_fd = eventfd(0, EFD_CLOEXEC);
  engine::SpoolWriterOptions options;
  options.directory = (directory / "0").string();
  options.syncs_in_flight = static_cast<unsigned>(state.range(0));
  options.direct_io = state.range(2) != 0;
  std::uint64_t sent = 0, stored = 0, failed = 0;
  {
    engine::SpoolWriter writer(options, {&channel});
    if (const auto error = writer.open(); !error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
    writer.start();
    constexpr std::uint64_t kPerIteration = 2000;
    std::size_t outstanding = 0;
    for (auto _ : state) {
      const auto target = sent + kPerIteration;
      while (stored + failed < target) {
        while (sent < target && outstanding < outstanding_limit) {
          engine::StoreRequest request{message(sent), static_cast<std::uint32_t>(sent), 0, true};
          if (!channel.requests.try_push(request)) break;
          ++sent;
          ++outstanding;
          channel.writer->notify();
        }
        const auto answered =
            channel.completions.pop_batch(SIZE_MAX, [&](engine::StoreCompletion&& c) {
              (c.result == StorageResult::stored ? stored : failed) += 1;
            });
        outstanding -= answered;
        if (answered == 0 && (outstanding == outstanding_limit || sent == target)) {
          std::uint64_t wakes;  // sleep as a reactor does, until the writer answers
          [[maybe_unused]] const auto n = read(channel.reactor_wake_fd, &wakes, sizeof wakes);
        }
      }
    }
    writer.stop();
    const auto& stats = writer.stats();
    const auto syncs = static_cast<double>(stats.syncs.load());
    state.counters["records_per_sync"] = static_cast<double>(stats.records.load()) / syncs;
    state.counters["sync_us"] = static_cast<double>(stats.sync_latency.sum_us.get()) / syncs;
  }
  close(channel.reactor_wake_fd);
  std::filesystem::remove_all(directory);
  if (failed != 0) state.SkipWithError("a message was not stored");
  state.SetItemsProcessed(static_cast<std::int64_t>(stored));
}
BENCHMARK(BM_GroupCommit)
    ->ArgNames({"syncs", "outstanding", "direct"})
    ->ArgsProduct({{1, 2, 4, 8}, {100, 1000}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mxring::bench
