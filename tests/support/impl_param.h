// Parameterises a GoogleTest suite over every scanner implementation this CPU runs.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "mxring/parser/impl.h"

namespace mxring::test {

inline std::string impl_test_name(const ::testing::TestParamInfo<parser::Impl>& info) {
  return std::string(parser::impl_name(info.param));
}

}  // namespace mxring::test

#define MXRING_INSTANTIATE_FOR_EVERY_IMPL(suite)                                            \
  INSTANTIATE_TEST_SUITE_P(EveryImpl, suite,                                                \
                           ::testing::ValuesIn(::mxring::parser::supported_impls().begin(), \
                                               ::mxring::parser::supported_impls().end()),  \
                           ::mxring::test::impl_test_name)
