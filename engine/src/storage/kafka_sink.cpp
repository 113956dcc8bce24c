#include "kafka_sink.h"

#include "clock.h"
#include "mxring/engine/log.h"

namespace mxring::engine {
struct KafkaSink::Flight {
  std::size_t channel;
  StoreRequest request;
  std::int64_t deadline_ns;
  bool answered = false;
  bool reported = false;
};

KafkaSink::KafkaSink(std::chrono::milliseconds timeout, Answer answer)
    : timeout_ns_(std::chrono::nanoseconds(timeout).count()), answer_(std::move(answer)) {}

KafkaSink::~KafkaSink() = default;

std::unique_ptr<KafkaSink> KafkaSink::create(const KafkaOptions& options, Answer answer,
                                             std::string& error) {
  std::unique_ptr<KafkaSink> sink(new KafkaSink(options.delivery_timeout, std::move(answer)));
  sink->producer_ = KafkaProducer::create(
      options,
      [raw = sink.get()](void* opaque, KafkaOutcome outcome, std::string_view why) {
        raw->reported(*static_cast<Flight*>(opaque), outcome, why);
      },
      error);
  return sink->producer_ ? std::move(sink) : nullptr;
}

void KafkaSink::send(std::size_t channel, StoreRequest&& request) {
  flights_.push_back(
      std::make_unique<Flight>(Flight{channel, std::move(request), monotonic_ns() + timeout_ns_}));
  auto& flight = *flights_.back();
  const auto& message = *flight.request.message;
  // The content stays alive in `flight` until its report: librdkafka does not copy it.
  const auto outcome = producer_->produce(message.envelope, message.content.view(), &flight, false);
  if (outcome != KafkaOutcome::queued) {
    reported(flight, outcome,
             outcome == KafkaOutcome::too_large
                 ? "over message.max.bytes with its headers"
                 : "the producer refused it (its queue is full, or it failed)");
  }
}

void KafkaSink::reported(Flight& flight, KafkaOutcome outcome, std::string_view error) {
  flight.reported = true;
  const bool ok = outcome == KafkaOutcome::acknowledged;
  if (ok) {
    ++delivered_;
  } else {
    ++failed_;
    if (!flight.answered)
      log(Level::warning,
          "kafka: " + std::string(flight.request.message->envelope.queue_id.view()) +
              " not acknowledged: " + std::string(error) +
              (outcome == KafkaOutcome::too_large
                   ? " (552: it never can be; " + std::string(kKafkaSizeAdvice) +
                         ", or lower --max-message-size)"
                   : std::string()));
  }
  // Too large is for good (RFC 3463 X.3.4): a 451 would have the sender retry it for days.
  if (!flight.answered)
    answer(flight, ok                                   ? StorageResult::stored
                   : outcome == KafkaOutcome::too_large ? StorageResult::too_large
                                                        : StorageResult::temporary_failure);
  flight.request.message.reset();  // freed on this thread, as soon as librdkafka is done
}

void KafkaSink::answer(Flight& flight, StorageResult result) {
  flight.answered = true;
  const auto& r = flight.request;
  answer_(flight.channel, StoreCompletion::answer(r, result));
}

void KafkaSink::service(std::chrono::milliseconds wait) {
  producer_->poll(wait);
  const auto now = monotonic_ns();
  bool expired = false;
  for (auto& flight : flights_) {
    if (flight->deadline_ns > now) break;
    if (!flight->answered) {
      answer(*flight, StorageResult::temporary_failure);
      expired = true;
    }
  }
  if (expired) {
    log(Level::warning, "kafka: messages not acknowledged within the delivery timeout: 451");
    producer_->purge(false);
  }
  while (!flights_.empty() && flights_.front()->reported) flights_.pop_front();
}

void KafkaSink::abandon_unreported() {
  producer_->purge(true);
  for (int i = 0; i < 500 && !flights_.empty(); ++i) service(std::chrono::milliseconds(10));
}

}  // namespace mxring::engine
