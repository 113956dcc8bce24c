// The kafka durability mode inside a storage writer: each message goes to the writer's own
// producer and is answered when the brokers acknowledge it (250) or fail it (451; 552 for a
// message too large for Kafka ever to take), while the writer goes on with its spool
// batches. Every message is answered by its deadline (the
// delivery timeout) even when librdkafka would keep it queued longer for an unreachable
// partition leader; unsent messages are then purged so they cannot arrive after their 451.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "mxring/engine/kafka_producer.h"
#include "storage_channel.h"

namespace mxring::engine {

class KafkaSink {
 public:
  using Answer = std::function<void(std::size_t channel, StoreCompletion&&)>;

  // nullptr with the reason in `error` when the producer cannot be created.
  static std::unique_ptr<KafkaSink> create(const KafkaOptions& options, Answer answer,
                                           std::string& error);
  ~KafkaSink();

  void send(std::size_t channel, StoreRequest&& request);
  // Serves delivery reports (waiting up to `wait` for one) and enforces deadlines.
  void service(std::chrono::milliseconds wait);
  // Messages whose report has not arrived (answered or not).
  bool idle() const { return flights_.empty(); }
  // At shutdown, once every message is answered: fails what librdkafka still holds.
  void abandon_unreported();
  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t failed() const { return failed_; }

 private:
  struct Flight;
  KafkaSink(std::chrono::milliseconds timeout, Answer answer);
  void reported(Flight& flight, KafkaOutcome outcome, std::string_view error);
  void answer(Flight& flight, StorageResult result);

  std::int64_t timeout_ns_;
  Answer answer_;
  std::deque<std::unique_ptr<Flight>> flights_;  // in production order: deadlines ascend
  std::uint64_t delivered_ = 0, failed_ = 0;
  std::unique_ptr<KafkaProducer> producer_;  // last: destroyed before the flights it reads
};

}  // namespace mxring::engine
