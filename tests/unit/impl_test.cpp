// Implementation selection: MXRING_FORCE_IMPL is honoured, and the forced implementation is the
// one that scans. ctest runs this binary once per implementation with the variable set.
#include "mxring/parser/impl.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "mxring/parser/data_scanner.h"
#include "mxring/parser/padding.h"

namespace mxring::parser {
namespace {

TEST(Impl, ScalarIsAlwaysSupportedAndListedFirst) {
  ASSERT_FALSE(supported_impls().empty());
  EXPECT_EQ(supported_impls().front(), Impl::scalar);
  EXPECT_TRUE(impl_supported(Impl::scalar));
}

TEST(Impl, NamesRoundTrip) {
  for (auto impl : {Impl::scalar, Impl::sse, Impl::avx2, Impl::avx512, Impl::avx512vbmi})
    EXPECT_EQ(impl_from_name(impl_name(impl)), impl);
  EXPECT_FALSE(impl_from_name("neon").has_value());
}

TEST(Impl, ForcedImplementationIsTheOneThatRuns) {
  const char* forced = std::getenv("MXRING_FORCE_IMPL");
  if (forced == nullptr) GTEST_SKIP() << "run by ctest with MXRING_FORCE_IMPL set";
  const auto wanted = impl_from_name(forced);
  ASSERT_TRUE(wanted.has_value());
  if (!impl_supported(*wanted)) {
    EXPECT_NE(active_impl(), *wanted);
    EXPECT_FALSE(impl_override_error().empty());
    return;
  }
  EXPECT_EQ(active_impl(), *wanted);
  EXPECT_TRUE(impl_override_error().empty());
  DataScanner scanner;  // default: the active implementation
  std::string in = "x\r\n.\r\n" + std::string(kPadding, '\0');
  std::string out(in.size() + kPadding, '\0');
  const auto before = scans_served(*wanted);
  EXPECT_TRUE(scanner.scan(std::span(in.data(), 6), out.data()).ended);
  EXPECT_EQ(scans_served(*wanted), before + 1);
  for (auto other : supported_impls())
    if (other != *wanted) {
      EXPECT_EQ(scans_served(other), 0u) << impl_name(other);
    }
}

}  // namespace
}  // namespace mxring::parser
