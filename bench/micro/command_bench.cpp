// BM_ParseCommand: ns per command, framing (LineScanner) plus parsing, over a realistic
// pipelined transcript; the single typical MAIL command the target names; and its parts.
#include <benchmark/benchmark.h>

#include <string>

#include "corpus.h"
#include "mxring/parser/command.h"
#include "mxring/parser/line_scanner.h"

namespace mxring::bench {
namespace {

using namespace parser;

// One pipelined transaction as clients send it, repeated.
const char kTransaction[] =
    "EHLO client.example.org\r\n"
    "MAIL FROM:<bounce-1234@lists.example.org> SIZE=18230 BODY=8BITMIME\r\n"
    "RCPT TO:<alice@example.com>\r\n"
    "RCPT TO:<bob.smith@example.com> NOTIFY=FAILURE,DELAY\r\n"
    "RCPT TO:<carol+news@example.com>\r\n"
    "DATA\r\n"
    "RSET\r\n"
    "NOOP\r\n"
    "QUIT\r\n";
constexpr int kCommandsPerTransaction = 9;

void BM_ParseCommand_Transcript(benchmark::State& state) {
  std::string transcript;
  for (int i = 0; i < 100; ++i) transcript += kTransaction;
  const PaddedInput in(transcript);
  LineScanner scanner(512 + 1024);
  auto run = [&] {
    std::size_t at = 0, parsed = 0;
    while (at < in.size) {
      const auto line = scanner.next(in.span().subspan(at));
      const auto result = parse_command({in.data() + at, line.length});
      parsed += result.error == CommandError::none;
      benchmark::DoNotOptimize(result);
      at += line.consumed;
    }
    return parsed;
  };
  if (run() != 100 * kCommandsPerTransaction) {
    state.SkipWithError("a transcript command did not parse");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(run());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 100 *
                          kCommandsPerTransaction);
}
BENCHMARK(BM_ParseCommand_Transcript);

// parse_command on one line, over and over.
void time_parse(benchmark::State& state, const std::string& line) {
  for (auto _ : state) {
    auto result = parse_command(line);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_ParseCommand_Mail(benchmark::State& state) {
  const std::string line = "MAIL FROM:<user@example.com> SIZE=1234 BODY=8BITMIME";
  const auto check = parse_command(line);
  if (check.error != CommandError::none || check.command.mail.size != 1234 ||
      check.command.path.domain != "example.com") {
    state.SkipWithError("typical MAIL command did not parse as expected");
    return;
  }
  time_parse(state, line);
}
BENCHMARK(BM_ParseCommand_Mail);

// Where the MAIL line's time goes: the fixed cost of any command (RSET builds and returns the
// same ParsedCommand), the path alone, and the path with each parameter.
void BM_ParseCommand_Line(benchmark::State& state, const char* text) {
  const std::string line = text;
  if (parse_command(line).error != CommandError::none) {
    state.SkipWithError("the line did not parse");
    return;
  }
  time_parse(state, line);
}
BENCHMARK_CAPTURE(BM_ParseCommand_Line, rset, "RSET");
BENCHMARK_CAPTURE(BM_ParseCommand_Line, mail_path, "MAIL FROM:<user@example.com>");
BENCHMARK_CAPTURE(BM_ParseCommand_Line, mail_size, "MAIL FROM:<user@example.com> SIZE=1234");
BENCHMARK_CAPTURE(BM_ParseCommand_Line, mail_body, "MAIL FROM:<user@example.com> BODY=8BITMIME");

}  // namespace
}  // namespace mxring::bench
