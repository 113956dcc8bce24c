// PROXY protocol headers from hostile peers: whatever arrives, parsing ends in one of its
// three answers, an accepted header lies inside the input, every prefix of an accepted header
// waits for more, and an accepted v2 header's TLVs walk to their end.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mxring/parser/proxy_header.h"

using mxring::parser::ProxyStatus;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto header = mxring::parser::parse_proxy_header(input);
  if (header.status != ProxyStatus::ok) return 0;
  if (header.length == 0 || header.length > input.size()) std::abort();
  if (header.version == 1 && header.length > 107) std::abort();
  if (header.version == 2 && header.length > 16 + mxring::parser::kMaxProxyV2Body) std::abort();
  for (std::size_t n = 0; n < header.length; n += 1 + n / 8)
    if (mxring::parser::parse_proxy_header(input.substr(0, n)).status != ProxyStatus::need_more)
      std::abort();
  std::size_t walked = 0;
  if (!mxring::parser::for_each_proxy_tlv(
          header.tlvs, [&](std::uint8_t, std::string_view value) { walked += value.size(); }))
    std::abort();  // parse accepted it only if the walk succeeds
  return walked > input.size() * 2 ? 1 : 0;
}
