// The outcome fields of a transaction line, in both formats, for every storage answer: the
// stored outcome is written from a copy made once per format, the others field by field,
// and all must read the same as the log's other fields.
#include "event_fields.h"

#include <gtest/gtest.h>

#include <string>

namespace mxring::engine {
namespace {

std::string outcome(LogFormat format, StorageResult result, std::int64_t store_us) {
  std::string out;
  auto line = LogLine::fragment(out, format);
  transaction_outcome(line, result, store_us);
  line.end();
  return out;
}

TEST(TransactionOutcome, JsonForEveryAnswer) {
  EXPECT_EQ(outcome(LogFormat::json, StorageResult::stored, 1800),
            R"(,"code":250,"result":"stored","store_us":1800)");
  EXPECT_EQ(outcome(LogFormat::json, StorageResult::disk_full, 5),
            R"(,"code":452,"result":"storage_failed","store_us":5)");
  EXPECT_EQ(outcome(LogFormat::json, StorageResult::temporary_failure, 0),
            R"(,"code":451,"result":"storage_failed","store_us":0)");
  EXPECT_EQ(outcome(LogFormat::json, StorageResult::too_large, 9),
            R"(,"code":552,"result":"storage_failed","store_us":9)");
}

TEST(TransactionOutcome, TextForEveryAnswer) {
  EXPECT_EQ(outcome(LogFormat::text, StorageResult::stored, 1800),
            " code=250 result=stored store_us=1800");
  EXPECT_EQ(outcome(LogFormat::text, StorageResult::disk_full, 5),
            " code=452 result=storage_failed store_us=5");
}

TEST(TransactionOutcome, FormatsAlternateFreely) {
  // The stored outcome's two copies are made once, together: neither may leak into the other.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(outcome(LogFormat::text, StorageResult::stored, i),
              " code=250 result=stored store_us=" + std::to_string(i));
    EXPECT_EQ(outcome(LogFormat::json, StorageResult::stored, i),
              R"(,"code":250,"result":"stored","store_us":)" + std::to_string(i));
  }
}

}  // namespace
}  // namespace mxring::engine
