// The probes of `mxring selftest`, each on its own connection. A probe sends what a hostile
// or broken client would and judges the server by its replies alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mxring::tools::selftest {

enum class Verdict : std::uint8_t { pass, fail, skipped, error };

struct CheckResult {
  std::string name;
  Verdict verdict = Verdict::error;
  std::string detail;  // what the server did, in a few words and its replies
};

struct Target {
  std::string host;
  std::uint16_t port = 0;
  std::string sender = "selftest@mxring.invalid";
  std::string recipient = "postmaster";  // RFC 5321 §4.5.1: every server must accept it
};

std::vector<CheckResult> run_checks(const Target& target);

const char* verdict_name(Verdict verdict);

}  // namespace mxring::tools::selftest
