// KafkaProducer over librdkafka's C API. Delivery reports arrive on the thread that calls
// poll(); nothing here starts threads of its own besides librdkafka's.
#include "mxring/engine/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdlib>

#include "mxring/engine/log.h"

namespace mxring::engine {
namespace {

// What librdkafka carries for each message (its msg_opaque) until the delivery report.
struct Pending {
  void* opaque;
  std::string partition_key;  // the recipient domain when partitioning by it
};

std::string recipient_domain(const Envelope& envelope) {
  if (envelope.recipients.empty()) return {};
  const auto& address = envelope.recipients.front().address;
  const auto at = address.rfind('@');
  std::string domain = at == std::string::npos ? std::string() : address.substr(at + 1);
  for (auto& c : domain) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return domain;
}

int32_t by_recipient_domain(const rd_kafka_topic_t* topic, const void* key, size_t key_length,
                            int32_t partitions, void* topic_opaque, void* message_opaque) {
  const auto* pending = static_cast<const Pending*>(message_opaque);
  if (pending == nullptr || pending->partition_key.empty())
    return rd_kafka_msg_partitioner_murmur2(topic, key, key_length, partitions, topic_opaque,
                                            message_opaque);
  return rd_kafka_msg_partitioner_murmur2(topic, pending->partition_key.data(),
                                          pending->partition_key.size(), partitions, topic_opaque,
                                          message_opaque);
}

const char* role_text(ListenerRole role) {
  switch (role) {
    case ListenerRole::submission:
      return "submission";
    case ListenerRole::smtps:
      return "smtps";
    case ListenerRole::smtp:
      break;
  }
  return "smtp";
}

// The headers of KAFKA.md §2, in that order.
rd_kafka_headers_t* envelope_headers(const Envelope& e) {
  auto* headers = rd_kafka_headers_new(16 + e.recipients.size());
  const auto add = [&](const char* name, std::string_view value) {
    rd_kafka_header_add(headers, name, -1, value.data(), static_cast<ssize_t>(value.size()));
  };
  add("mxring.schema", "1");
  add("queue_id", e.queue_id.view());
  add("received_at_us", std::to_string(e.received_at_us));
  add("client_address", e.client_address);
  add("client_port", std::to_string(e.client_port));
  add("listener", e.listener);
  add("role", role_text(e.role));
  if (!e.proxy.peer.empty()) {
    add("proxy_peer", e.proxy.peer);
    if (!e.proxy.authority.empty()) add("proxy_authority", e.proxy.authority);
    if (!e.proxy.tls_version.empty()) add("proxy_tls_version", e.proxy.tls_version);
    if (!e.proxy.tls_cipher.empty()) add("proxy_tls_cipher", e.proxy.tls_cipher);
    if (!e.proxy.via.empty()) add("proxy_via", e.proxy.via);
    if (!e.proxy.client_name.empty()) add("client_name", e.proxy.client_name);
  }
  add("helo", e.helo);
  if (!e.tls.version.empty()) {
    add("tls_version", e.tls.version);
    add("tls_cipher", e.tls.cipher);
    if (!e.tls.sni.empty()) add("tls_sni", e.tls.sni);
  }
  if (!e.auth_identity.empty()) add("auth", e.auth_identity);
  add("mail_from", e.mail_from);
  if (e.body == parser::Body::seven_bit) add("body", "7BIT");
  if (e.body == parser::Body::eight_bit_mime) add("body", "8BITMIME");
  if (e.body == parser::Body::binary_mime) add("body", "BINARYMIME");
  if (e.smtputf8) add("smtputf8", "1");
  if (e.requiretls) add("requiretls", "1");
  if (e.ret == parser::Ret::full) add("ret", "FULL");
  if (e.ret == parser::Ret::headers) add("ret", "HDRS");
  if (!e.envid.empty()) add("envid", e.envid);
  if (!e.mail_auth.empty()) add("mail_auth", e.mail_auth);
  if (e.declared_size != 0) add("declared_size", std::to_string(e.declared_size));
  for (const auto& r : e.recipients) add("rcpt", r.address);
  bool dsn = false;
  for (const auto& r : e.recipients) dsn = dsn || r.notify != 0 || !r.orcpt.empty();
  if (dsn) {
    for (const auto& r : e.recipients) {
      std::string notify;
      const auto word = [&](std::uint8_t bit, const char* text) {
        if (r.notify & bit) notify += (notify.empty() ? "" : ",") + std::string(text);
      };
      word(parser::kNotifyNever, "NEVER");
      word(parser::kNotifySuccess, "SUCCESS");
      word(parser::kNotifyFailure, "FAILURE");
      word(parser::kNotifyDelay, "DELAY");
      add("rcpt_notify", notify);
      add("rcpt_orcpt", r.orcpt);
    }
  }
  return headers;
}

KafkaOutcome outcome_of(rd_kafka_resp_err_t error) {
  return error == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? KafkaOutcome::too_large
                                                       : KafkaOutcome::failed;
}

// A producer's configuration under `options`, or nullptr with the reason in `error`.
rd_kafka_conf_t* configured(const KafkaOptions& options, std::string& error) {
  char reason[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> settings = options.settings;
  settings.insert(settings.end(),
                  {{"bootstrap.servers", options.brokers},
                   {"compression.codec", options.compression},
                   {"linger.ms", std::to_string(options.linger.count())},
                   {"message.timeout.ms", std::to_string(options.delivery_timeout.count())},
                   // The durability contract, not a tunable: set last so nothing overrides it.
                   {"enable.idempotence", "true"},
                   {"acks", "all"}});
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), reason, sizeof reason) !=
        RD_KAFKA_CONF_OK) {
      error = "kafka option " + name + "=" + value + ": " + reason;
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  return conf;
}

// librdkafka's own log lines (syslog levels) through mxring's log, on whichever of its
// threads they arise; log() writes each line whole.
void forward_log(const rd_kafka_t*, int level, const char* facility, const char* text) {
  const auto mxring_level = level <= 3 ? Level::error : level <= 5 ? Level::warning : Level::debug;
  log(mxring_level, std::string("kafka ") + facility + ": " + text);
}

}  // namespace

struct KafkaProducer::State {
  rd_kafka_t* kafka = nullptr;
  rd_kafka_topic_t* topic = nullptr;
  Delivered delivered;
  bool by_domain = false;
  std::atomic<std::size_t> in_flight{0};

  ~State() {
    if (topic != nullptr) rd_kafka_topic_destroy(topic);
    if (kafka != nullptr) rd_kafka_destroy(kafka);
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* state = static_cast<State*>(opaque);
    auto* pending = static_cast<Pending*>(message->_private);
    const bool ok = message->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    state->delivered(pending->opaque, ok ? KafkaOutcome::acknowledged : outcome_of(message->err),
                     ok ? std::string_view() : rd_kafka_err2str(message->err));
    delete pending;
    state->in_flight.fetch_sub(1, std::memory_order_relaxed);
  }
};

KafkaProducer::KafkaProducer(std::unique_ptr<State> state) : state_(std::move(state)) {}
KafkaProducer::~KafkaProducer() = default;

std::unique_ptr<KafkaProducer> KafkaProducer::create(const KafkaOptions& options,
                                                     Delivered delivered, std::string& error) {
  auto state = std::make_unique<State>();
  state->delivered = std::move(delivered);
  state->by_domain = options.partitioning == KafkaPartitioning::recipient_domain;
  char reason[512];
  rd_kafka_conf_t* conf = configured(options, error);
  if (conf == nullptr) return nullptr;
  rd_kafka_conf_set_dr_msg_cb(conf, State::on_delivery);
  rd_kafka_conf_set_log_cb(conf, forward_log);
  rd_kafka_conf_set_opaque(conf, state.get());
  state->kafka = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (state->kafka == nullptr) {
    error = std::string("kafka: ") + reason;
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  rd_kafka_topic_conf_t* topic_conf = rd_kafka_topic_conf_new();
  if (state->by_domain) rd_kafka_topic_conf_set_partitioner_cb(topic_conf, by_recipient_domain);
  state->topic = rd_kafka_topic_new(state->kafka, options.topic.c_str(), topic_conf);
  if (state->topic == nullptr) {
    error = "kafka topic " + options.topic + ": " + rd_kafka_err2str(rd_kafka_last_error());
    return nullptr;
  }
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(std::move(state)));
}

KafkaOutcome KafkaProducer::produce(const Envelope& envelope, std::string_view content,
                                    void* opaque, bool copy) {
  auto* pending = new Pending{opaque, state_->by_domain ? recipient_domain(envelope) : ""};
  auto* headers = envelope_headers(envelope);
  const auto id = envelope.queue_id.view();
  // librdkafka's value pointer is not const-qualified; without F_COPY it only reads it.
  const auto error =
      rd_kafka_producev(state_->kafka, RD_KAFKA_V_RKT(state_->topic),
                        RD_KAFKA_V_KEY(const_cast<char*>(id.data()), id.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(content.data()), content.size()),
                        RD_KAFKA_V_MSGFLAGS(copy ? RD_KAFKA_MSG_F_COPY : 0),
                        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(pending), RD_KAFKA_V_END);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(headers);
    delete pending;
    return outcome_of(error);
  }
  state_->in_flight.fetch_add(1, std::memory_order_relaxed);
  return KafkaOutcome::queued;
}

void KafkaProducer::poll(std::chrono::milliseconds timeout) {
  rd_kafka_poll(state_->kafka, static_cast<int>(timeout.count()));
}

std::size_t KafkaProducer::in_flight() const {
  return state_->in_flight.load(std::memory_order_relaxed);
}

bool KafkaProducer::flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(state_->kafka, static_cast<int>(timeout.count())) ==
         RD_KAFKA_RESP_ERR_NO_ERROR;
}

void KafkaProducer::purge(bool in_flight_too) {
  rd_kafka_purge(state_->kafka, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING |
                                    (in_flight_too ? RD_KAFKA_PURGE_F_INFLIGHT : 0));
}

std::optional<std::uint64_t> kafka_max_message_bytes(const KafkaOptions& options,
                                                     std::string& error) {
  rd_kafka_conf_t* conf = configured(options, error);
  if (conf == nullptr) return std::nullopt;
  char value[32];
  std::size_t size = sizeof value;
  const bool read = rd_kafka_conf_get(conf, "message.max.bytes", value, &size) == RD_KAFKA_CONF_OK;
  rd_kafka_conf_destroy(conf);
  if (!read) {
    error = "kafka: message.max.bytes cannot be read";
    return std::nullopt;
  }
  return std::strtoull(value, nullptr, 10);
}

bool parse_kafka_partitioning(const std::string& name, KafkaPartitioning& out) {
  if (name == "queue-id")
    out = KafkaPartitioning::queue_id;
  else if (name == "recipient-domain")
    out = KafkaPartitioning::recipient_domain;
  else
    return false;
  return true;
}

}  // namespace mxring::engine
