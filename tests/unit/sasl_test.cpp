// SASL response decoding: strict base64 (RFC 4648) and the PLAIN message (RFC 4616 §2).
#include "sasl.h"

#include <gtest/gtest.h>

namespace mxring::engine::sasl {
namespace {

using namespace std::string_literals;

TEST(Base64, DecodesCanonicalInput) {
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("YQ=="), "a");
  EXPECT_EQ(base64_decode("YWI="), "ab");
  EXPECT_EQ(base64_decode("YWJj"), "abc");
  EXPECT_EQ(base64_decode("AGFsaWNlAHdvbmRlcmxhbmQ="), "\0alice\0wonderland"s);
  EXPECT_EQ(base64_decode("+/+/"), "\xfb\xff\xbf");
}

TEST(Base64, RefusesAnythingElse) {
  for (const char* bad :
       {"YQ", "YQ=", "Y===", "YQ=a", "YW=j", "YWJ j", "YWJ\n", "YR==", "YWK=", "!!!!", "YQ==YQ=="})
    EXPECT_FALSE(base64_decode(bad)) << bad;
}

TEST(Plain, SplitsAuthzidAuthcidAndPassword) {
  const auto c = decode_plain("admin\0alice\0secret"s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "admin");
  EXPECT_EQ(c->authcid, "alice");
  EXPECT_EQ(c->password, "secret");
}

TEST(Plain, RefusesMalformedMessages) {
  for (const auto& bad : {"alice"s, "\0alice"s, "\0\0secret"s, "\0alice\0"s, "a\0b\0c\0d"s})
    EXPECT_FALSE(decode_plain(bad));
}

}  // namespace
}  // namespace mxring::engine::sasl
