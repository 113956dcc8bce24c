// What `mxring bench` is asked to do (DESIGN.md command-line contract).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "mxring/engine/socket_address.h"

namespace mxring::tools::bench {

struct Target {
  std::string address;  // numeric IPv4 or IPv6: the load generator never asks DNS
  std::uint16_t port = 25;
  engine::SocketAddress socket;  // the two as connect takes them
};

struct BenchOptions {
  std::vector<Target> targets;  // connections are spread over them round-robin
  unsigned connections = 100;
  std::uint64_t messages_per_connection = 0;  // 0: keep the connection for the whole run
  std::uint64_t count = 0;                    // messages; 0: until the duration ends
  double duration_s = 0;                      // 0: until `count` messages are done
  double warmup_s = 0;                        // messages finishing before this are not counted
  double timeout_s = 30;      // no connect, reply or close within this: the connection has failed
  std::string sizes = "1k";   // see parse_sizes()
  std::string messages_from;  // directory, mbox or spool:DIR instead of sizes
  unsigned recipients = 1;
  std::string from = "bench@client.test";  // {n} message number, {c} connection
  std::string to = "rcpt-{r}@localhost";   // and {r} recipient index
  std::string helo = "client.test";
  bool pipelining = true;  // when the server offers it (RFC 2920)
  bool chain = true;       // with PIPELINING, the next MAIL/RCPT/DATA follow the content
  bool bdat = false;       // BDAT ... LAST instead of DATA when the server offers CHUNKING
  bool starttls = false;
  bool implicit_tls = false;
  std::string auth_user, auth_password;  // AUTH PLAIN after TLS when set
  double rate = 0;                       // messages per second (open loop); 0: closed loop
  bool spread_sources = false;           // bind connections over 127.0.0.1-127.0.0.254
  int cpu = -1;
  std::string ack_log;  // "queue-id sha256" per acknowledged message
  bool json = false;
  bool progress = false;  // set when stderr is a terminal
  // Set (from a signal handler) to end the run early, as if its duration had ended.
  const std::atomic<bool>* stop_requested = nullptr;
};

}  // namespace mxring::tools::bench
