// What mxring's clients (bench, spool replay) read from an EHLO reply: keywords in any case,
// never from the server's name on the first line, SIZE's limit and RFC 9422's LIMITS.
#include "common/ehlo_offer.h"

#include <gtest/gtest.h>

namespace mxring::tools {
namespace {

TEST(EhloOfferTest, ReadsKeywordsAndTheirArguments) {
  const auto offer = read_ehlo_offer(
      "250-mx.test\r\n250-pipelining\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
      "250-CHUNKING\r\n250-BINARYMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n"
      "250 LIMITS RCPTMAX=100 MAILMAX=1000");
  EXPECT_TRUE(offer.pipelining);
  EXPECT_TRUE(offer.size);
  EXPECT_EQ(offer.size_limit, 52428800u);
  EXPECT_TRUE(offer.eight_bit_mime && offer.chunking && offer.binary_mime);
  EXPECT_TRUE(offer.smtputf8 && offer.dsn);
  EXPECT_FALSE(offer.starttls);
  EXPECT_EQ(offer.rcpt_max, 100u);
  EXPECT_EQ(offer.mail_max, 1000u);
}

TEST(EhloOfferTest, OffersNothingItDoesNotSay) {
  // The first line names the server, whatever that name is; a keyword is a whole word.
  const auto offer = read_ehlo_offer(
      "250-PIPELINING\r\n250-SIZE\r\n250-DSNX\r\n250-LIMITS MAILMAXX=5 "
      "XRCPTMAX=7\r\n250 STARTTLS");
  EXPECT_FALSE(offer.pipelining);
  EXPECT_TRUE(offer.size);
  EXPECT_EQ(offer.size_limit, 0u);  // SIZE without a limit (RFC 1870 §4)
  EXPECT_FALSE(offer.dsn);
  EXPECT_EQ(offer.mail_max, 0u);
  EXPECT_EQ(offer.rcpt_max, 0u);
  EXPECT_TRUE(offer.starttls);
  EXPECT_FALSE(read_ehlo_offer("250 mx.test").starttls);
}

}  // namespace
}  // namespace mxring::tools
