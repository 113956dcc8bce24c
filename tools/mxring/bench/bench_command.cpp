#include "bench_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "bench_client.h"
#include "common/file_limit.h"
#include "common/host_port.h"
#include "common/whole_number.h"

namespace mxring::tools {
namespace {

// The load generator's descriptors besides connections: its ring, the ack log, a message
// directory being read.
constexpr std::uint64_t kBenchFileReserve = 64;

using bench::BenchOptions;
using bench::BenchStats;

// Ctrl-C (or SIGTERM) ends a run early with its report, as the end of --duration does: what
// was measured until then is printed rather than lost. The handler is one-shot, so a second
// Ctrl-C, for a run whose last messages never get their answer, ends the process at once.
std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);  // set from a signal handler

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = [](int) { stop_requested.store(true, std::memory_order_relaxed); };
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  for (const int signal_number : {SIGINT, SIGTERM}) {
    // A signal the parent ignores (a shell's background job, nohup) stays ignored.
    struct sigaction current {};
    if (sigaction(signal_number, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    sigaction(signal_number, &action, nullptr);
  }
}

bench::Target parse_target(const std::string& text) {
  const auto parsed = parse_host_port(text, "--target");
  if (parsed.more) throw CLI::ValidationError("--target", "expected ADDR:PORT, got " + text);
  return {parsed.address, parsed.port, parsed.socket};
}

nlohmann::json to_json(const BenchStats& s) {
  nlohmann::json j;
  const double seconds = s.elapsed_s > 0 ? s.elapsed_s : 1e-9;
  j["messages"] = s.messages;
  j["elapsed_s"] = s.elapsed_s;
  j["msgs_per_s"] = static_cast<double>(s.messages) / seconds;
  j["mb_per_s"] = static_cast<double>(s.message_bytes) / seconds / 1e6;
  j["client_cpu_s"] = s.client_cpu_s;
  j["client_cpu_us_per_msg"] =
      s.messages ? s.client_cpu_s * 1e6 / static_cast<double>(s.messages) : 0;
  j["connections_opened"] = s.connections_opened;
  j["interrupted"] = s.interrupted;
  j["errors"] = s.errors;
  j["error_kinds"] = s.error_kinds;
  j["error_examples"] = s.error_examples;
  nlohmann::json latency;
  for (std::size_t p = 0; p < bench::kPhases; ++p) {
    const auto& h = s.latency[p];
    if (h.count() == 0) continue;
    latency[bench::kPhaseNames[p]] = {{"count", h.count()},           {"p50", h.percentile(0.5)},
                                      {"p90", h.percentile(0.9)},     {"p99", h.percentile(0.99)},
                                      {"p99.9", h.percentile(0.999)}, {"max", h.max()}};
  }
  j["latency_us"] = latency;
  nlohmann::json replies = nlohmann::json::object();
  for (const auto& [code, n] : s.replies) replies[code ? std::to_string(code) : "malformed"] = n;
  j["replies"] = replies;
  return j;
}

void print_text(const BenchStats& s) {
  const auto j = to_json(s);
  if (s.interrupted) std::printf("interrupted: the figures cover the run until then\n");
  std::printf("%llu messages in %.2f s: %.0f msgs/s, %.1f MB/s; client CPU %.2f s (%.1f µs/msg)\n",
              static_cast<unsigned long long>(s.messages), s.elapsed_s,
              j["msgs_per_s"].get<double>(), j["mb_per_s"].get<double>(), s.client_cpu_s,
              j["client_cpu_us_per_msg"].get<double>());
  std::printf("%-15s %10s %9s %9s %9s %9s %9s   (µs)\n", "phase", "count", "p50", "p90", "p99",
              "p99.9", "max");
  for (std::size_t p = 0; p < bench::kPhases; ++p) {
    const auto& h = s.latency[p];
    if (h.count() == 0) continue;
    std::printf("%-15s %10llu %9llu %9llu %9llu %9llu %9llu\n", bench::kPhaseNames[p],
                static_cast<unsigned long long>(h.count()),
                static_cast<unsigned long long>(h.percentile(0.5)),
                static_cast<unsigned long long>(h.percentile(0.9)),
                static_cast<unsigned long long>(h.percentile(0.99)),
                static_cast<unsigned long long>(h.percentile(0.999)),
                static_cast<unsigned long long>(h.max()));
  }
  std::printf("replies:");
  for (const auto& [code, n] : s.replies)
    std::printf(" %s×%llu", code ? std::to_string(code).c_str() : "malformed",
                static_cast<unsigned long long>(n));
  std::printf("\nerrors: %llu\n", static_cast<unsigned long long>(s.errors));
  for (const auto& [kind, n] : s.error_kinds)
    std::printf("  %-30s %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
  for (const auto& example : s.error_examples) std::printf("  e.g. %s\n", example.c_str());
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("bench", "SMTP load generator (io_uring, one thread)");
  auto o = std::make_shared<BenchOptions>();
  auto targets = std::make_shared<std::vector<std::string>>();
  auto auth = std::make_shared<std::string>();
  auto no_pipeline = std::make_shared<bool>(false);
  command->add_option("--target", *targets, "ADDR:PORT ([IPv6]:PORT); repeatable: round-robin")
      ->required();
  command->add_option("--connections", o->connections, "Concurrent connections, default 100")
      ->check(CLI::Range(1u, 1'000'000u));
  command
      ->add_option("--messages-per-connection", o->messages_per_connection,
                   "Then QUIT and reconnect; 1 = a new connection per message; default 0 "
                   "(keep the connection)")
      ->check(kWholeNumber);
  command->add_option("--count", o->count, "Messages to send (with --duration: whichever first)")
      ->check(kWholeNumber);
  command->add_option("--duration", o->duration_s, "Seconds to run after the warm-up");
  command->add_option("--warmup", o->warmup_s,
                      "Seconds whose messages are not counted (nor their latencies)");
  command
      ->add_option("--timeout", o->timeout_s,
                   "Seconds a connection may wait for its connect, a reply or the server's "
                   "close before it counts as failed; default 30")
      ->check(CLI::Range(0.001, 86400.0));
  command->add_option("--size", o->sizes,
                      "Message size: 1024, 10k, 1m, a mix 1k,10k,100k or weighted 1k:8,100k:2; "
                      "default 1k");
  command->add_option("--messages-from", o->messages_from,
                      "Real messages: a directory (a file each), an mbox, or spool:DIR; 8-bit "
                      "ones go with BODY=8BITMIME, binary ones (a bare CR or LF, a NUL) as "
                      "BDAT with BODY=BINARYMIME, only to servers that offer it");
  command->add_option("--rcpts", o->recipients, "Recipients per message, default 1")
      ->check(CLI::Range(1u, 10'000u));
  command->add_option("--from", o->from, "Sender; {n} message number, {c} connection");
  command->add_option("--to", o->to,
                      "Recipients; {r} recipient index, {n}, {c}; default rcpt-{r}@localhost");
  command->add_option("--helo", o->helo, "EHLO name, default client.test");
  command->add_flag("--no-pipeline", *no_pipeline, "One command per round trip");
  command->add_flag("--pipeline", o->pipelining, "PIPELINING when offered (the default)");
  auto no_chain = std::make_shared<bool>(false);
  command->add_flag("--no-chain", *no_chain,
                    "With PIPELINING, wait for a message's 250 before the next MAIL (some "
                    "servers refuse commands that follow the content in one send)");
  command->add_flag("--bdat", o->bdat, "BDAT LAST instead of DATA when CHUNKING is offered");
  command->add_flag("--starttls", o->starttls, "STARTTLS after EHLO (RFC 3207)");
  command->add_flag("--tls", o->implicit_tls, "Implicit TLS from the first byte (RFC 8314)");
  command->add_option("--auth", *auth, "USER:PASSWORD for AUTH PLAIN (after TLS)");
  command->add_option("--rate", o->rate, "Messages per second, open loop (default: closed loop)");
  command->add_flag("--spread-sources", o->spread_sources,
                    "Bind connections to 127.0.0.1-127.0.0.254 (many connections to loopback)");
  command->add_option("--cpu", o->cpu, "Pin the load generator to this CPU");
  command->add_option("--ack-log", o->ack_log,
                      "Write `queue-id sha256` for every acknowledged message");
  command->add_flag("--json", o->json, "One JSON object instead of the table");
  command->callback([=, &exit_code] {
    for (const auto& t : *targets) o->targets.push_back(parse_target(t));
    // CLI11 reads "inf" and "nan" as numbers, and a range check lets nan through: a run of
    // --duration inf would never stop by itself.
    for (const auto& [option, seconds] : {std::pair{"--duration", o->duration_s},
                                          {"--warmup", o->warmup_s},
                                          {"--timeout", o->timeout_s}})
      if (!std::isfinite(seconds) || seconds < 0)
        throw CLI::ValidationError(option, "a number of seconds, 0 or more");
    if (o->count == 0 && o->duration_s <= 0)
      throw CLI::ValidationError("bench", "give --count, --duration or both");
    if (*no_pipeline) o->pipelining = false;
    if (*no_chain) o->chain = false;
    if (!auth->empty()) {
      const auto colon = auth->find(':');
      if (colon == std::string::npos) throw CLI::ValidationError("--auth", "USER:PASSWORD");
      o->auth_user = auth->substr(0, colon);
      o->auth_password = auth->substr(colon + 1);
    }
    o->progress = !o->json && isatty(STDERR_FILENO);
    std::string error;
    std::optional<bench::MessageSource> messages;
    if (!o->messages_from.empty()) {
      messages = bench::MessageSource::from_path(o->messages_from, error);
    } else if (auto sizes = bench::parse_sizes(o->sizes, error)) {
      messages = bench::MessageSource::generated(*sizes);
    }
    if (!messages) {
      std::cerr << "mxring bench: " << error << "\n";
      exit_code = 2;
      return;
    }
    // Beyond the file limit, the connections past it would fail to open for the whole run.
    std::uint32_t connections = o->connections;
    std::string unused_warning;
    if (!ensure_file_limit(connections, {"--connections", true, kBenchFileReserve}, unused_warning,
                           error)) {
      std::cerr << "mxring bench: " << error << "\n";
      exit_code = 2;
      return;
    }
    BenchStats stats;
    install_stop_handlers();
    o->stop_requested = &stop_requested;
    bench::BenchClient client(*o, std::move(*messages));
    if (!client.run(stats, error)) {
      std::cerr << "mxring bench: " << error << "\n";
      exit_code = 2;
      return;
    }
    if (o->json)
      std::cout << to_json(stats).dump() << "\n";
    else
      print_text(stats);
    exit_code = stats.errors == 0 ? 0 : 1;
  });
}

}  // namespace mxring::tools
