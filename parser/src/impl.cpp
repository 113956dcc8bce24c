// Run-time choice of the scanner implementation (CPUID, then the MXRING_FORCE_IMPL override).
#include "mxring/parser/impl.h"

#include <array>
#include <cstdlib>
#include <string>

#include "impl_internal.h"
#include "kernels/kernels.h"

namespace mxring::parser {
namespace {

constexpr std::array<std::string_view, 5> kNames = {"scalar", "sse", "avx2", "avx512",
                                                    "avx512vbmi"};

struct Choice {
  Impl impl = Impl::scalar;
  std::string error;
};

Choice choose() {
  Choice choice;
  choice.impl = supported_impls().back();
  const char* forced = std::getenv("MXRING_FORCE_IMPL");
  if (forced == nullptr || *forced == '\0') return choice;
  const auto named = impl_from_name(forced);
  if (!named) {
    choice.error = std::string("MXRING_FORCE_IMPL=") + forced +
                   " is not one of scalar, sse, avx2, avx512, avx512vbmi";
  } else if (!impl_supported(*named)) {
    choice.error = std::string("MXRING_FORCE_IMPL=") + forced + " is not supported by this CPU";
  } else {
    choice.impl = *named;
  }
  return choice;
}

const Choice& active_choice() {
  static const Choice choice = choose();
  return choice;
}

thread_local std::array<std::uint64_t, kNames.size()> served{};

}  // namespace

std::string_view impl_name(Impl impl) {
  return kNames[static_cast<std::size_t>(impl)];
}

std::optional<Impl> impl_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Impl>(i);
  return std::nullopt;
}

bool impl_supported(Impl impl) {
  switch (impl) {
    case Impl::scalar:
    case Impl::sse:  // SSE2 is part of x86-64
      return true;
    case Impl::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
             __builtin_cpu_supports("bmi2");
    case Impl::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("bmi2");
    case Impl::avx512vbmi:
      return impl_supported(Impl::avx512) && __builtin_cpu_supports("avx512vbmi");
  }
  return false;
}

std::span<const Impl> supported_impls() {
  static const auto list = [] {
    std::array<Impl, kNames.size()> all{};
    std::size_t n = 0;
    for (auto impl : {Impl::scalar, Impl::sse, Impl::avx2, Impl::avx512, Impl::avx512vbmi})
      if (impl_supported(impl)) all[n++] = impl;
    return std::pair{all, n};
  }();
  return {list.first.data(), list.second};
}

Impl active_impl() {
  return active_choice().impl;
}

std::string_view impl_override_error() {
  return active_choice().error;
}

std::uint64_t scans_served(Impl impl) {
  return served[static_cast<std::size_t>(impl)];
}

namespace detail {

const kernels::Kernels& kernels_for(Impl impl) {
  switch (impl) {
    case Impl::sse:
      return kernels::kSse;
    case Impl::avx2:
      return kernels::kAvx2;
    case Impl::avx512:
      return kernels::kAvx512;
    case Impl::avx512vbmi:
      return kernels::kAvx512Vbmi;
    case Impl::scalar:
      break;
  }
  return kernels::kScalar;
}

void count_scan(Impl impl) {
  ++served[static_cast<std::size_t>(impl)];
}

}  // namespace detail
}  // namespace mxring::parser
