// Publishing stored messages to Apache Kafka through librdkafka: the `kafka` durability mode
// (the 250 waits for the brokers' acknowledgement) and `mxring spool forward` (ships the spool
// from a cursor). The record layout (key, value, headers) is specified in engine/KAFKA.md.
//
// The producer is idempotent with acks=all whatever the options say: a 250 that rests on a
// Kafka acknowledgement must mean every in-sync replica has the message, exactly once per
// produce call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mxring/engine/envelope.h"

namespace mxring::engine {

enum class KafkaPartitioning {
  queue_id,          // by the key: messages spread evenly
  recipient_domain,  // by the first recipient's domain: a domain's mail stays in order
};

struct KafkaOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic = "mxring";
  KafkaPartitioning partitioning = KafkaPartitioning::queue_id;
  std::string compression = "lz4";  // none, gzip, snappy, lz4, zstd
  std::chrono::milliseconds linger{2};
  std::chrono::milliseconds delivery_timeout{10'000};  // then the message fails (451)
  // Any other librdkafka property (batch.size, security.protocol, sasl.*, ssl.*, ...).
  std::vector<std::pair<std::string, std::string>> settings;
};

// What became of a message given to produce().
enum class KafkaOutcome : std::uint8_t {
  queued,        // produce(): its report comes from poll()
  acknowledged,  // report: every in-sync replica has it
  failed,        // not now (a full local queue, brokers away, the deadline): it may be sent again
  too_large,     // never: over the producer's message.max.bytes with its key and headers, or
                 // over the topic's max.message.bytes (the broker's MSG_SIZE_TOO_LARGE)
};

class KafkaProducer {
 public:
  // Called from poll() once per message queued: acknowledged, failed or too_large.
  using Delivered = std::function<void(void* opaque, KafkaOutcome outcome, std::string_view error)>;

  // nullptr with a reason in `error` when the options are refused.
  static std::unique_ptr<KafkaProducer> create(const KafkaOptions& options, Delivered delivered,
                                               std::string& error);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues one message; `envelope` supplies the key (queue id) and the headers. Without
  // `copy`, `content` must stay valid until its delivery is reported. Anything but `queued`
  // means nothing was queued and no report comes: `failed` when the local queue is full or
  // the producer has failed fatally, `too_large` when the message can never be sent.
  KafkaOutcome produce(const Envelope& envelope, std::string_view content, void* opaque, bool copy);

  // Serves delivery reports, waiting up to `timeout` for one.
  void poll(std::chrono::milliseconds timeout);
  // Messages produced whose delivery has not been reported yet.
  std::size_t in_flight() const;
  // Waits until everything is reported or `timeout` passes; false on timeout.
  bool flush(std::chrono::milliseconds timeout);
  // Fails every message not yet sent (and, with `in_flight_too`, those awaiting a broker's
  // answer): each gets its report, as not delivered, at the next poll(). librdkafka keeps
  // messages for a partition whose leader is unreachable past message.timeout.ms, so
  // deadlines are enforced by the caller with this.
  void purge(bool in_flight_too);

 private:
  struct State;
  explicit KafkaProducer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// What lets Kafka take larger messages, for the messages that say one was too large.
inline constexpr std::string_view kKafkaSizeAdvice =
    "raise message.max.bytes with --kafka-option message.max.bytes=N (and the topic's "
    "max.message.bytes on the brokers)";

// The producer's message.max.bytes under `options` (librdkafka's default unless a setting
// changes it): the most a message with its key and headers may take. Nothing, with the
// reason in `error`, when the settings are refused.
std::optional<std::uint64_t> kafka_max_message_bytes(const KafkaOptions& options,
                                                     std::string& error);

// "queue-id" or "recipient-domain"; false for anything else.
bool parse_kafka_partitioning(const std::string& name, KafkaPartitioning& out);

}  // namespace mxring::engine
