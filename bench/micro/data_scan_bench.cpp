// BM_DataScan/<impl>/<corpus>/<size>: DATA end search + unstuffing + copy, beside BM_Memcpy and
// a naive byte-at-a-time scanner on the same buffers. BM_ContentCheck/<corpus>/<size>: the
// check BDAT content gets (bare CR/LF, NUL, long lines, 8-bit; no copy). Each checks its
// output against the scalar reference before timing and reports bytes/s.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "corpus.h"
#include "mxring/parser/content_checker.h"
#include "mxring/parser/data_scanner.h"

namespace mxring::bench {
namespace {

using parser::DataScanner;
using parser::Impl;

const std::vector<std::size_t> kSizes = {1 << 10, 64 << 10, 1 << 20, 10 << 20};

std::string corpus(int kind, std::size_t size) {
  return kind == 0 ? plain_text_message(size) : base64_message(size);
}

std::string reference_message(const ScanBuffers& buffers) {
  DataScanner scanner({}, Impl::scalar);
  std::string out(buffers.size + parser::kPadding, '\0');
  const auto r = scanner.scan(buffers.span(), out.data());
  out.resize(r.written);
  return out;
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
  const ScanBuffers buffers(corpus(kind, static_cast<std::size_t>(state.range(0))));
  DataScanner scanner({}, impl);
  const auto check = scanner.scan(buffers.span(), buffers.out());
  if (!check.ended || buffers.written(check.written) != reference_message(buffers)) {
    state.SkipWithError("output differs from the scalar reference");
    return;
  }
  for (auto _ : state) {
    scanner.reset();
    const auto r = scanner.scan(buffers.span(), buffers.out());
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buffers.size));
}

void BM_NaiveScan(benchmark::State& state, int kind) {
  const ScanBuffers buffers(corpus(kind, static_cast<std::size_t>(state.range(0))));
  bool ended = false;
  const auto n = naive_scan(buffers.in(), buffers.size, buffers.out(), ended);
  if (!ended || buffers.written(n) != reference_message(buffers)) {
    state.SkipWithError("naive output differs from the scalar reference");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(naive_scan(buffers.in(), buffers.size, buffers.out(), ended));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buffers.size));
}

void BM_ContentCheck(benchmark::State& state, int kind) {
  const auto content = corpus(kind, static_cast<std::size_t>(state.range(0)));
  const std::span<const char> in(content.data(), content.size());
  parser::ContentChecker checker;
  checker.scan(in);
  if (checker.final_flags() != parser::check_content_scalar(in)) {
    state.SkipWithError("flags differ from the scalar reference");
    return;
  }
  for (auto _ : state) {
    checker.reset();
    checker.scan(in);
    benchmark::DoNotOptimize(checker.flags());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * content.size()));
}

void BM_Memcpy(benchmark::State& state, int kind) {
  const ScanBuffers buffers(corpus(kind, static_cast<std::size_t>(state.range(0))));
  for (auto _ : state) {
    std::memcpy(buffers.out(), buffers.in(), buffers.size);
    benchmark::ClobberMemory();
  }
  if (std::memcmp(buffers.out(), buffers.in(), buffers.size) != 0) state.SkipWithError("memcpy");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buffers.size));
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
    auto* check =
        benchmark::RegisterBenchmark((std::string("BM_ContentCheck/") + kind_name(kind)).c_str(),
                                     [kind](benchmark::State& s) { BM_ContentCheck(s, kind); });
    for (auto size : kSizes) {
      naive->Arg(static_cast<std::int64_t>(size));
      copy->Arg(static_cast<std::int64_t>(size));
      check->Arg(static_cast<std::int64_t>(size));
    }
  }
}

const int registered = (register_all(), 0);

}  // namespace
}  // namespace mxring::bench
