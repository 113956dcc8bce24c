// mxring bench --ack-log (tools/mxring/bench): the queue id taken from each server's 250 and
// the SHA-256 of exactly what was sent, the lines the crash tests match against the spool.
#include "ack_log.h"

#include <gtest/gtest.h>

#include <string>

#include "temp_file.h"

namespace mxring::tools::bench {
namespace {

TEST(AckLogTest, QueueIdComesAfterQueuedAsElseIsTheLastWord) {
  EXPECT_EQ(queue_id_of("250 2.0.0 Ok: queued as 0A1B2C3D4E5F (fsync)"), "0A1B2C3D4E5F");
  EXPECT_EQ(queue_id_of("250 2.0.0 Ok: queued as 4XyZ"), "4XyZ");  // Postfix: the id ends it
  EXPECT_EQ(queue_id_of("250 OK id=1rABCD-000123-4x"), "id=1rABCD-000123-4x");
  EXPECT_EQ(queue_id_of("250"), "250");
}

TEST(AckLogTest, EachLineIsTheIdAndTheSha256OfHeaderThenMessage) {
  const test::TempFile file("mxring-ack-log");
  {
    AckLog log;
    std::string error;
    ASSERT_TRUE(log.open(file.path(), error)) << error;
    log.record("250 2.0.0 Ok: queued as ID1", "ab", "c");  // SHA-256("abc"), FIPS 180-2 B.1
    log.record("250 2.0.0 Ok: queued as ID2 (none)", "", "");
  }
  EXPECT_EQ(file.text(),
            "ID1 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
            "ID2 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");
}

TEST(AckLogTest, AnUnwritablePathIsAnError) {
  AckLog log;
  std::string error;
  EXPECT_FALSE(log.open("/nonexistent-dir/acks", error));
  EXPECT_EQ(error, "cannot write /nonexistent-dir/acks");
  EXPECT_FALSE(log.is_open());
}

}  // namespace
}  // namespace mxring::tools::bench
