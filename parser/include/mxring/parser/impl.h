// Which SIMD implementation of the scanners runs: chosen once from CPUID, overridable by
// MXRING_FORCE_IMPL=scalar|sse|avx2|avx512|avx512vbmi (the scalar reference is always
// available). avx512 needs AVX-512 F and BW; avx512vbmi also VBMI (Ice Lake, Zen 4 and later).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace mxring::parser {

enum class Impl : std::uint8_t { scalar, sse, avx2, avx512, avx512vbmi };

std::string_view impl_name(Impl impl);
std::optional<Impl> impl_from_name(std::string_view name);

// True when this CPU (and OS, for AVX state) can run `impl`.
bool impl_supported(Impl impl);

// Every implementation this CPU can run, scalar first.
std::span<const Impl> supported_impls();

// The implementation scanners use when none is named: MXRING_FORCE_IMPL if it names a supported
// implementation, otherwise the fastest supported one. Decided on first call.
Impl active_impl();

// Why MXRING_FORCE_IMPL was ignored (unknown or unsupported name); empty when it was honoured
// or unset. Servers report this at startup; the library never prints.
std::string_view impl_override_error();

// How many scan calls each implementation has served in this thread: lets a test prove which
// implementation actually ran.
std::uint64_t scans_served(Impl impl);

}  // namespace mxring::parser
