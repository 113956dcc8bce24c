// Differential fuzz target for what BDAT content is checked with: the content cut into
// fuzzer-chosen chunks (RFC 3030 §2: a CRLF may be split across them) must give, for every
// implementation this CPU runs, the flags the one-octet-at-a-time reference gives for the
// whole content, at the end and after every chunk.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mxring/parser/content_checker.h"
#include "split_input.h"

using namespace mxring::parser;

namespace {

// What ContentChecker::flags() promises after `prefix`: the open line measured, and a CR at
// its very end not bare yet. The reference sees that once the line is ended by what makes
// neither a bare CR nor a bare LF: an LF after a final CR, a CRLF after anything else.
DataFlags expected_so_far(const std::string& prefix, DataLimits limits) {
  const std::string closed = prefix + (prefix.ends_with('\r') ? "\n" : "\r\n");
  return check_content_scalar(closed, limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Line limits: small ones so long lines are common, below and above a 64-octet block.
  static constexpr std::uint32_t kLimits[] = {3, 40, 63, 64, 200, 998};
  auto in = split_input(data, size, kLimits);
  if (!in) return 0;
  const std::string& content = in->stream;
  const DataLimits limits{.max_line = in->max_line};
  auto& cuts = in->cuts;
  cuts.push_back(content.size());

  const DataFlags whole = check_content_scalar(content, limits);
  for (Impl impl : supported_impls()) {
    ContentChecker checker(limits, impl);
    std::size_t at = 0;
    for (const std::size_t end : cuts) {
      // Each chunk in a heap block of exactly its size: ASan sees any read past it.
      const std::size_t length = end - at;
      const auto chunk = std::make_unique<char[]>(length == 0 ? 1 : length);
      std::memcpy(chunk.get(), content.data() + at, length);
      checker.scan({chunk.get(), length});
      at = end;
      if (!(checker.flags() == expected_so_far(content.substr(0, at), limits))) std::abort();
    }
    if (!(checker.final_flags() == whole)) std::abort();
  }
  return 0;
}
