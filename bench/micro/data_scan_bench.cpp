// BM_DataScan/<impl>/<corpus>/<size>: DATA end search + unstuffing + copy, beside BM_Memcpy and
// a naive byte-at-a-time scanner on the same buffers. Each checks its output against the
// scalar reference before timing and reports bytes/s.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "corpus.h"
#include "mxring/parser/data_scanner.h"

namespace mxring::bench {
namespace {

using parser::DataScanner;
using parser::Impl;

const std::vector<std::size_t> kSizes = {1 << 10, 64 << 10, 1 << 20, 10 << 20};

std::string corpus(int kind, std::size_t size) {
  return kind == 0 ? plain_text_message(size) : base64_message(size);
}

std::string reference_message(const PaddedInput& in) {
  DataScanner scanner({}, Impl::scalar);
  std::string out(in.size + parser::kPadding, '\0');
  const auto r = scanner.scan(in.span(), out.data());
  out.resize(r.written);
  return out;
}

std::string_view written(const AlignedBytes& out, std::size_t n) {
  return {out.data(), n};
}

// The way a hand-written receiver usually does it: a byte loop remembering the last octets.
std::size_t naive_scan(const char* in, std::size_t n, char* out, bool& ended) {
  std::size_t w = 0;
  bool at_line_start = true;
  char prev = '\n';
  for (std::size_t i = 0; i < n; ++i) {
    const char c = in[i];
    if (at_line_start && c == '.') {
      if (i + 2 < n && in[i + 1] == '\r' && in[i + 2] == '\n') {
        ended = true;
        return w;
      }
      at_line_start = false;
      prev = c;
      continue;  // stuffing dot
    }
    out[w++] = c;
    at_line_start = (c == '\n' && prev == '\r');
    prev = c;
  }
  return w;
}

void BM_DataScan(benchmark::State& state, Impl impl, int kind) {
  const PaddedInput in(corpus(kind, static_cast<std::size_t>(state.range(0))));
  AlignedBytes out(in.size + parser::kPadding);
  DataScanner scanner({}, impl);
  const auto check = scanner.scan(in.span(), out.data());
  if (!check.ended || written(out, check.written) != reference_message(in)) {
    state.SkipWithError("output differs from the scalar reference");
    return;
  }
  for (auto _ : state) {
    scanner.reset();
    const auto r = scanner.scan(in.span(), out.data());
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size));
}

void BM_NaiveScan(benchmark::State& state, int kind) {
  const PaddedInput in(corpus(kind, static_cast<std::size_t>(state.range(0))));
  AlignedBytes out(in.size + parser::kPadding);
  bool ended = false;
  const auto n = naive_scan(in.data(), in.size, out.data(), ended);
  if (!ended || written(out, n) != reference_message(in)) {
    state.SkipWithError("naive output differs from the scalar reference");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(naive_scan(in.data(), in.size, out.data(), ended));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size));
}

void BM_Memcpy(benchmark::State& state, int kind) {
  const PaddedInput in(corpus(kind, static_cast<std::size_t>(state.range(0))));
  AlignedBytes out(in.size);
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), in.size);
    benchmark::ClobberMemory();
  }
  if (std::memcmp(out.data(), in.data(), in.size) != 0) state.SkipWithError("memcpy");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size));
}

const char* kind_name(int kind) {
  return kind == 0 ? "text" : "base64";
}

void register_all() {
  for (int kind : {0, 1}) {
    for (Impl impl : parser::supported_impls()) {
      auto* b = benchmark::RegisterBenchmark(
          ("BM_DataScan/" + std::string(parser::impl_name(impl)) + "/" + kind_name(kind)).c_str(),
          [impl, kind](benchmark::State& s) { BM_DataScan(s, impl, kind); });
      for (auto size : kSizes) b->Arg(static_cast<std::int64_t>(size));
    }
    auto* naive =
        benchmark::RegisterBenchmark((std::string("BM_NaiveScan/") + kind_name(kind)).c_str(),
                                     [kind](benchmark::State& s) { BM_NaiveScan(s, kind); });
    auto* copy = benchmark::RegisterBenchmark((std::string("BM_Memcpy/") + kind_name(kind)).c_str(),
                                              [kind](benchmark::State& s) { BM_Memcpy(s, kind); });
    for (auto size : kSizes) {
      naive->Arg(static_cast<std::int64_t>(size));
      copy->Arg(static_cast<std::int64_t>(size));
    }
  }
}

const int registered = (register_all(), 0);

}  // namespace
}  // namespace mxring::bench
