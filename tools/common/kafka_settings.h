// The Kafka producer settings both programs take: mxringd for `--durability kafka`, and
// `mxring spool forward`. Flags --kafka-<name>; in mxringd's TOML file kafka_<name>.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "mxring/engine/kafka_producer.h"

namespace mxring::tools {

// The names, each taking one string value: brokers, topic, partition-by, compression,
// linger-ms, timeout-ms, option (KEY=VALUE, a librdkafka property; repeatable).
inline constexpr const char* kKafkaSettingNames[] = {
    "brokers", "topic", "partition-by", "compression", "linger-ms", "timeout-ms", "option"};

// Applies one setting; throws CLI::ValidationError naming it when the value is refused.
void set_kafka_setting(engine::KafkaOptions& options, const std::string& name,
                       const std::string& value);

// Registers --kafka-<name> for every setting; `values` receives them by name.
void add_kafka_flags(CLI::App& app, std::map<std::string, std::vector<std::string>>& values);

// Applies what add_kafka_flags collected.
void apply_kafka_flags(const std::map<std::string, std::vector<std::string>>& values,
                       engine::KafkaOptions& options);

// The effective settings as TOML lines (kafka_<name> = ...).
std::string describe_kafka(const engine::KafkaOptions& options);

}  // namespace mxring::tools
