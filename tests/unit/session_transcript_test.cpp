// Replays every transcript in tests/transcripts/ through a Session whole, byte by byte, and
// cut once at every offset, and checks replies, stored messages and the final state.
#include "session_transcript.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

namespace mxring::test {
namespace {

std::vector<std::string> transcript_files() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(MXRING_TRANSCRIPT_DIR))
    if (entry.path().extension() == ".txt") names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool ends_session(const std::string& replies) {
  const auto last = replies.rfind("\r\n", replies.size() - 3);
  const auto line = replies.substr(last == std::string::npos ? 0 : last + 2);
  return line.starts_with("221 ") || line.starts_with("421 ") || line.starts_with("554 5.5.1");
}

::testing::AssertionResult matches(const Transcript& t, const TranscriptRun& run,
                                   const std::string& how) {
  if (run.replies != t.expected_replies)
    return ::testing::AssertionFailure() << how << ": replies differ\n--- expected\n"
                                         << t.expected_replies << "--- got\n"
                                         << run.replies;
  const bool should_close = t.expect_closed || ends_session(t.expected_replies);
  if (run.closed != should_close)
    return ::testing::AssertionFailure()
           << how << ": session " << (run.closed ? "" : "not ") << "closed";
  if (t.messages.empty()) return ::testing::AssertionSuccess();
  if (run.messages.size() != t.messages.size())
    return ::testing::AssertionFailure() << how << ": " << run.messages.size()
                                         << " message(s) stored, expected " << t.messages.size();
  for (std::size_t i = 0; i < t.messages.size(); ++i) {
    const auto got = describe_envelope(run.messages[i].envelope);
    if (got != t.messages[i].envelope)
      return ::testing::AssertionFailure() << how << ": message " << i + 1 << " envelope\n"
                                           << "expected " << t.messages[i].envelope << "\n"
                                           << "got      " << got;
    const auto content = run.messages[i].content.view();
    if (t.messages[i].check_content && content != t.messages[i].content)
      return ::testing::AssertionFailure() << how << ": message " << i + 1 << " content\n"
                                           << "--- expected\n"
                                           << t.messages[i].content << "--- got\n"
                                           << content;
  }
  return ::testing::AssertionSuccess();
}

class SessionTranscript : public ::testing::TestWithParam<std::string> {};

TEST_P(SessionTranscript, SameRepliesWholeBytewiseAndAtEverySplit) {
  const auto t = load_transcript(std::string(MXRING_TRANSCRIPT_DIR) + "/" + GetParam());
  std::size_t total = 0;
  for (const auto& segment : t.segments) total += segment.size();

  ASSERT_TRUE(matches(t, run_transcript(t, {}), "whole"));

  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < total; ++i) every_byte.push_back(i);
  ASSERT_TRUE(matches(t, run_transcript(t, every_byte), "byte by byte"));

  // Large transcripts (floods) are cut at a stride that keeps the run short; small ones at
  // every offset.
  const std::size_t stride = total > 8192 ? total / 4096 : 1;
  for (std::size_t cut = 1; cut < total; cut += stride)
    ASSERT_TRUE(matches(t, run_transcript(t, {cut}), "cut at " + std::to_string(cut)));
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  auto name = info.param.substr(0, info.param.size() - 4);
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Transcripts, SessionTranscript, ::testing::ValuesIn(transcript_files()),
                         test_name);

}  // namespace
}  // namespace mxring::test
