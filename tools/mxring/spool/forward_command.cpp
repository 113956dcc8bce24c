// `mxring spool forward`: ships the spool to Kafka from a cursor, decoupled from SMTP (the
// 250 never waits for Kafka). Records go out in batches; the cursor is saved only once every
// record of a batch is acknowledged (acks=all). When the brokers are away, the batch is
// retried from the saved cursor with back-off: the spool buffers, the forwarder catches up,
// nothing is skipped (a record may be sent twice: at least once).
#include <algorithm>
#include <chrono>
#include <iostream>

#include "common/kafka_settings.h"
#include "mxring/engine/kafka_producer.h"
#include "mxring/engine/spool_cursor_file.h"
#include "mxring/engine/spool_stream.h"
#include "spool_subcommands.h"

namespace mxring::tools::spool {
namespace {

struct ForwardOptions {
  std::string cursor;
  bool follow = false;
  std::size_t batch = 10'000;
  std::map<std::string, std::vector<std::string>> kafka;
};

int run_forward(const std::string& directory, ForwardOptions& options) {
  engine::KafkaOptions kafka;
  std::string error;
  try {
    apply_kafka_flags(options.kafka, kafka);
    if (kafka.brokers.empty()) throw CLI::ValidationError("--kafka-brokers", "required");
  } catch (const CLI::ValidationError& e) {
    error = e.what();
  }
  std::string path;
  auto saved =
      error.empty() ? open_consumer_cursor(directory, options.cursor, path, error) : std::nullopt;
  std::size_t failed = 0, too_large = 0;
  std::string last_failure;
  auto producer = saved ? engine::KafkaProducer::create(
                              kafka,
                              [&](void*, engine::KafkaOutcome outcome, std::string_view why) {
                                if (outcome == engine::KafkaOutcome::too_large) ++too_large;
                                if (outcome != engine::KafkaOutcome::acknowledged) {
                                  ++failed;
                                  last_failure = why;
                                }
                              },
                              error)
                        : nullptr;
  if (!producer) {
    std::cerr << "mxring spool forward: " << error << "\n";
    return 2;
  }
  stop_on_signals();

  auto stream = std::make_unique<engine::SpoolStream>(directory, *saved);
  auto idle = std::chrono::milliseconds(1);
  auto backoff = std::chrono::milliseconds(250);
  std::uint64_t forwarded = 0;
  int status = 0;
  while (!stop_requested()) {
    std::size_t taken = 0;
    bool refused = false, oversized = false;
    stream->poll([&](const engine::StreamedRecord& record) {
      if (taken == options.batch) return false;
      auto envelope = engine::spool::decode_envelope(record.view);
      if (!envelope) envelope.emplace();  // still shipped: the headers say what is known
      envelope->queue_id = record.view.header.queue_id;
      envelope->received_at_us = record.view.header.received_at_us;
      engine::KafkaOutcome outcome;
      while ((outcome = producer->produce(*envelope, record.view.message, nullptr, true)) ==
             engine::KafkaOutcome::failed) {
        producer->poll(std::chrono::milliseconds(10));  // the local queue is full: drain
        if (stop_requested()) {
          refused = true;
          return false;
        }
      }
      if (outcome == engine::KafkaOutcome::too_large) {
        // Never sent, and never skipped (at least once): the run stops at it, and the cursor
        // stays before it until Kafka is configured to take it.
        std::cerr << "mxring spool forward: " << record.view.header.queue_id.view() << " ("
                  << record.view.message.size()
                  << " octets) is over the producer's message.max.bytes with its headers: "
                  << engine::kKafkaSizeAdvice << "\n";
        oversized = true;
        return false;
      }
      ++taken;
      return true;
    });
    if (report_stream_problems(stream->take_problems())) status = 1;
    if (oversized) status = 1;
    if (taken == 0) {
      if (!options.follow || status != 0) break;
      pause_unless_stopping(idle);
      idle = std::min(idle * 2, std::chrono::milliseconds(50));
      continue;
    }
    idle = std::chrono::milliseconds(1);
    // Wait for every report of the batch. librdkafka may hold messages for an unreachable
    // leader past its timeout: past ours, they are purged and count as failed.
    const auto deadline = std::chrono::steady_clock::now() + kafka.delivery_timeout;
    bool purged = false;
    while (producer->in_flight() > 0) {
      producer->poll(std::chrono::milliseconds(100));
      if (!purged && std::chrono::steady_clock::now() > deadline) {
        producer->purge(true);
        purged = true;
      }
    }
    if (failed == 0 && !refused) {
      forwarded += taken;
      if (!engine::save_cursor(path, stream->cursor(), error)) {
        std::cerr << "mxring spool forward: " << error << "\n";
        return 1;
      }
      *saved = stream->cursor();
      backoff = std::chrono::milliseconds(250);
      if (oversized) break;  // what came before it is shipped; it never will be as things are
      continue;
    }
    std::cerr << "mxring spool forward: " << failed << " of " << taken
              << " messages not acknowledged (" << last_failure << "); retrying from the cursor"
              << (options.follow && too_large == 0 && !oversized ? "" : " on the next run") << "\n";
    failed = 0;
    // A broker refusing a message for its size refuses it again: no retrying that.
    if (!options.follow || too_large > 0 || oversized) {
      status = 1;
      break;
    }
    pause_unless_stopping(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(10'000));
    stream = std::make_unique<engine::SpoolStream>(directory, *saved);
  }
  std::cerr << "forwarded " << forwarded << " messages to " << kafka.topic << "\n";
  return status;
}

}  // namespace

void add_forward_command(CLI::App* spool, const std::string& directory, int& exit_code) {
  static ForwardOptions options;
  auto* command = spool->add_subcommand(
      "forward", "Ship committed messages to Kafka from a saved cursor (at least once)");
  command
      ->add_option("--cursor", options.cursor,
                   "A name (kept in <spool>/cursors/, which retention respects) or a path")
      ->required();
  command->add_flag("--follow,-f", options.follow,
                    "Keep forwarding new messages until SIGINT/SIGTERM");
  command
      ->add_option("--batch", options.batch, "Messages acknowledged per cursor save, default 10000")
      ->check(CLI::Range(1, 1 << 24));
  add_kafka_flags(*command, options.kafka);
  command->callback([&] { exit_code = run_forward(directory, options); });
}

}  // namespace mxring::tools::spool
