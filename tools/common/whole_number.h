// A CLI11 check for 64-bit unsigned options. CLI11 reads them with strtoull, which takes
// "-1" for 2^64 - 1 (narrower options fail their range check instead): a --min-free-space
// of -1 would refuse every message, a --segment-size of -5 would never rotate, a bench
// --count of -1 would never stop.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace mxring::tools {

inline const CLI::Validator kWholeNumber(
    [](std::string& text) {
      return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos
                 ? std::string()
                 : "expected a whole number, got " + text;
    },
    "");

}  // namespace mxring::tools
