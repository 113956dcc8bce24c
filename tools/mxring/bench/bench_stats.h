// What a bench run measured: latencies per phase, replies by code, errors with examples.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "latency_histogram.h"

namespace mxring::tools::bench {

enum class Phase : std::uint8_t {
  banner,  // connect to the 220
  ehlo,
  starttls,  // the TLS handshake (after STARTTLS's 220, or at connect with --tls)
  auth,
  mail,
  rcpt,         // to the last RCPT reply
  data,         // DATA to its 354
  end_of_data,  // the final octet of the message to its 250 (DATA or BDAT)
  transaction,  // MAIL (or its scheduled start, with --rate) to the 250
  rset,
  quit,
};
inline constexpr std::size_t kPhases = 11;
inline constexpr std::array<const char*, kPhases> kPhaseNames = {
    "connect_banner", "ehlo",        "tls_handshake", "auth", "mail", "rcpt",
    "data",           "end_of_data", "transaction",   "rset", "quit"};

struct BenchStats {
  std::array<LatencyHistogram, kPhases> latency;
  std::map<int, std::uint64_t> replies;  // by code; 0 = malformed
  std::uint64_t messages = 0;            // acknowledged, inside the measured window
  std::uint64_t message_bytes = 0;
  std::uint64_t errors = 0;
  std::map<std::string, std::uint64_t> error_kinds;  // "RCPT 451", "connect: Connection refused"
  std::vector<std::string> error_examples;           // the first few, whole
  double elapsed_s = 0;                              // the measured window
  double client_cpu_s = 0;
  std::uint64_t connections_opened = 0;
  bool interrupted = false;  // ended by SIGINT/SIGTERM before its count or duration

  void error(std::string_view kind, std::string_view example) {
    ++errors;
    ++error_kinds[std::string(kind)];
    // Ten different ones: a server refusing everything alike would fill them with one text.
    if (error_examples.size() < 10 &&
        std::find(error_examples.begin(), error_examples.end(), example) == error_examples.end())
      error_examples.emplace_back(example);
  }
};

}  // namespace mxring::tools::bench
