// BM_SessionTransaction: CPU per whole SMTP transaction through the sans-I/O session in
// memory (greeting, EHLO, MAIL, RCPT, DATA with a body, QUIT, as a pipelining client sends
// them), a new session each time, recipient policy on. BM_SessionBodyScan times the DATA
// scan of the same body alone, so the session's own cost is the difference.
// BM_TransactionLogLine prices the structured log's share of a message: the JSON line
// written up to the outcome when the message goes to storage, then finished (the reactor's
// own code, engine/src/reactor/event_fields.cpp).
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstdlib>
#include <string>

#include "corpus.h"
#include "event_fields.h"
#include "mxring/engine/recipient_policy.h"
#include "mxring/engine/session.h"

namespace mxring::bench {
namespace {

using namespace engine;

class BenchServices final : public SessionServices {
 public:
  QueueId next_queue_id() override {
    char text[24];
    const auto end = std::to_chars(text, text + sizeof text, ++counter_).ptr;
    return QueueId({text, static_cast<std::size_t>(end - text)});
  }
  std::int64_t now_us() override { return 1795824000ll * 1'000'000; }

 private:
  std::uint64_t counter_ = 0;
};

std::string body_of(std::size_t size) {
  std::string body = "Subject: benchmark\r\n\r\n";
  while (body.size() < size) body += "The quick brown fox jumps over the lazy dog, 0123456789.\r\n";
  body.resize(size - 2);
  return body + "\r\n";
}

std::shared_ptr<const SessionContext> bench_context() {
  auto policy = RecipientPolicy::build({"example.com"}, "alice\nbob\nrcpt-*\n");
  SessionConfig config;
  config.host_name = "mx.example.com";
  config.recipients = std::make_shared<RecipientPolicy>(std::get<RecipientPolicy>(policy));
  return SessionContext::make(std::move(config));
}

void BM_SessionTransaction(benchmark::State& state) {
  const auto context = bench_context();
  BenchServices services;
  const PaddedInput ehlo(std::string("EHLO client.example.org\r\n"));
  const PaddedInput envelope(
      std::string("MAIL FROM:<bounce-1234@lists.example.org> SIZE=1024 BODY=8BITMIME\r\n"
                  "RCPT TO:<alice@example.com>\r\nDATA\r\n"));
  const PaddedInput body(body_of(static_cast<std::size_t>(state.range(0))) + ".\r\n");
  const PaddedInput quit(std::string("QUIT\r\n"));
  ConnectionInfo connection;
  connection.client_address = "192.0.2.1";
  connection.listener = "0.0.0.0:25";

  std::size_t reply_octets = 0;
  auto transaction = [&] {
    Session session(context, services, connection);
    const auto drain = [&] {
      reply_octets += session.output().size();
      session.consume_output(session.output().size());
    };
    session.greet();
    drain();
    session.receive(ehlo.span());
    drain();
    session.receive(envelope.span());
    drain();
    session.receive(body.span());
    auto message = session.take_message();
    benchmark::DoNotOptimize(message.content.data());
    session.storage_done(StorageResult::stored);
    drain();
    session.receive(quit.span());
    drain();
    return session.closed() && message.envelope.recipients.size() == 1 &&
           message.content.size() > body.size;
  };
  if (!transaction()) {  // check the result before timing it
    state.SkipWithError("transaction did not complete");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(transaction());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size));
}
BENCHMARK(BM_SessionTransaction)->Arg(1024)->Arg(16);

void BM_SessionBodyScan(benchmark::State& state) {
  const PaddedInput body(body_of(static_cast<std::size_t>(state.range(0))) + ".\r\n");
  AlignedBytes out(body.size + parser::kPadding);
  parser::DataScanner scanner;
  for (auto _ : state) {
    scanner.reset();
    const auto scan = scanner.scan(body.span(), out.data());
    if (!scan.ended) std::abort();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SessionBodyScan)->Arg(1024);

void BM_TransactionLogLine(benchmark::State& state) {
  const auto format = state.range(0) == 0 ? LogFormat::json : LogFormat::text;
  BenchServices services;
  ConnectionInfo connection;
  connection.client_address = "192.0.2.1";
  connection.client_port = 40123;
  Session session(bench_context(), services, connection);
  const PaddedInput ehlo(std::string("EHLO client.example.org\r\n"));
  session.greet();
  session.receive(ehlo.span());
  Envelope envelope;
  envelope.queue_id = services.next_queue_id();
  envelope.mail_from = "bounce-1234@lists.example.org";
  envelope.recipients.resize(1);
  envelope.received_at_us = services.now_us() - 250;
  LineBuffer note, lines;
  for (auto _ : state) {
    note.clear();
    {
      auto fragment = LogLine::fragment(note, format);
      transaction_fields(fragment, session, envelope, 1432, services.now_us());
    }
    {
      LogLine line(lines, format, Level::info, "transaction", services.now_us());
      transaction_outcome(line.fields(note.view()), StorageResult::stored, 1800);
    }
    if (lines.size() > (1 << 20)) lines.clear();  // the reactor hands it on once a turn
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransactionLogLine)->Arg(0)->Arg(1);

}  // namespace
}  // namespace mxring::bench
