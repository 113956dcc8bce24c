// BM_Crc32c: the spool records' checksum over a record-sized and larger buffers, in octets/s
// (the checksum of a 100 KiB message is on the writer's path before its 250).
#include <benchmark/benchmark.h>

#include <string>

#include "mxring/engine/crc32c.h"

namespace mxring::bench {
namespace {

void BM_Crc32c(benchmark::State& state) {
  const std::string data(static_cast<std::size_t>(state.range(0)), 'x');
  std::uint32_t crc = 0;
  for (auto _ : state) {
    crc = engine::crc32c(crc, data.data(), data.size());
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(1200)->Arg(16 << 10)->Arg(100 << 10)->Arg(1 << 20);

}  // namespace
}  // namespace mxring::bench
