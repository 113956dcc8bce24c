#include "kafka_settings.h"

#include <charconv>
#include <map>
#include <set>

namespace mxring::tools {
namespace {

std::chrono::milliseconds milliseconds(const std::string& name, const std::string& value) {
  long long n = -1;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (error != std::errc() || end != value.data() + value.size() || n < 0)
    throw CLI::ValidationError("--kafka-" + name, "milliseconds expected, got " + value);
  return std::chrono::milliseconds(n);
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void set_kafka_setting(engine::KafkaOptions& options, const std::string& name,
                       const std::string& value) {
  if (name == "brokers") {
    options.brokers = value;
  } else if (name == "topic") {
    if (value.empty()) throw CLI::ValidationError("--kafka-topic", "must not be empty");
    options.topic = value;
  } else if (name == "partition-by") {
    if (!engine::parse_kafka_partitioning(value, options.partitioning))
      throw CLI::ValidationError("--kafka-partition-by", "queue-id or recipient-domain");
  } else if (name == "compression") {
    static const std::set<std::string> kCodecs = {"none", "gzip", "snappy", "lz4", "zstd"};
    if (!kCodecs.contains(value))
      throw CLI::ValidationError("--kafka-compression", "none, gzip, snappy, lz4 or zstd");
    options.compression = value;
  } else if (name == "linger-ms") {
    options.linger = milliseconds(name, value);
  } else if (name == "timeout-ms") {
    options.delivery_timeout = milliseconds(name, value);
  } else if (name == "option") {
    const auto equals = value.find('=');
    if (equals == std::string::npos || equals == 0)
      throw CLI::ValidationError("--kafka-option", "KEY=VALUE expected, got " + value);
    options.settings.emplace_back(value.substr(0, equals), value.substr(equals + 1));
  } else {
    throw CLI::ValidationError("kafka", "unknown setting " + name);
  }
}

void add_kafka_flags(CLI::App& app, std::map<std::string, std::vector<std::string>>& values) {
  const std::map<std::string, std::string> help = {
      {"brokers", "Kafka bootstrap servers, HOST:PORT[,HOST:PORT...]"},
      {"topic", "Topic the messages go to, default mxring"},
      {"partition-by", "queue-id (default) or recipient-domain"},
      {"compression", "none, gzip, snappy, lz4 (default) or zstd"},
      {"linger-ms", "How long the producer gathers a batch, default 2"},
      {"timeout-ms", "A message not acknowledged by then fails (451), default 10000"},
      {"option",
       "KEY=VALUE: any librdkafka property (security.protocol, sasl.*, ssl.*, "
       "batch.size...); repeatable"},
  };
  for (const char* name : kKafkaSettingNames) {
    auto* option = app.add_option("--kafka-" + std::string(name), values[name], help.at(name));
    if (std::string(name) != "option") option->expected(1);
  }
}

void apply_kafka_flags(const std::map<std::string, std::vector<std::string>>& values,
                       engine::KafkaOptions& options) {
  for (const auto& [name, given] : values)
    for (const auto& value : given) set_kafka_setting(options, name, value);
}

std::string describe_kafka(const engine::KafkaOptions& o) {
  std::string out =
      "kafka_brokers = " + quoted(o.brokers) + "\n" + "kafka_topic = " + quoted(o.topic) + "\n" +
      "kafka_partition_by = " +
      quoted(o.partitioning == engine::KafkaPartitioning::recipient_domain ? "recipient-domain"
                                                                           : "queue-id") +
      "\n" + "kafka_compression = " + quoted(o.compression) + "\n" +
      "kafka_linger_ms = " + std::to_string(o.linger.count()) + "\n" +
      "kafka_timeout_ms = " + std::to_string(o.delivery_timeout.count()) + "\n" +
      "kafka_option = [";
  for (std::size_t i = 0; i < o.settings.size(); ++i)
    out += (i ? ", " : "") + quoted(o.settings[i].first + "=" + o.settings[i].second);
  return out + "]\n";
}

}  // namespace mxring::tools
