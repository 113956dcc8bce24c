// The load generator's engine: one thread, one io_uring, many SMTP client connections, each
// a small state machine. Replies are parsed as they come; with PIPELINING a message costs one
// round trip (its content, a ".", and the next MAIL/RCPT/DATA leave in one send, RFC 2920
// §3.1). Closed loop by default; with a rate, transactions start on a schedule and their
// latency counts from that schedule, so a slow server cannot hide its queueing.
#pragma once

#include <memory>
#include <string>

#include "bench_options.h"
#include "bench_stats.h"
#include "message_source.h"

namespace mxring::tools::bench {

class BenchClient {
 public:
  BenchClient(BenchOptions options, MessageSource messages);
  ~BenchClient();
  BenchClient(const BenchClient&) = delete;
  BenchClient& operator=(const BenchClient&) = delete;

  // Runs to the end (count or duration reached, every connection said QUIT). False with
  // `error` set when the run could not start at all.
  bool run(BenchStats& stats, std::string& error);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mxring::tools::bench
