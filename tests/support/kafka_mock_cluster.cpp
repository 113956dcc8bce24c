// kafka_mock_cluster: librdkafka's in-process mock cluster (rdkafka_mock.h, a Kafka protocol
// broker implementation maintained with librdkafka) as a process, for the Kafka tests and
// benchmarks. Prints "bootstrap HOST:PORT,..." and then obeys one command a line on
// standard input, answering "ok" to each:
//   topic NAME PARTITIONS   create a topic
//   down | up               every broker refuses / accepts connections
//   rtt MS                  every broker answers MS milliseconds late
// It exits when standard input ends.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  const int brokers = argc > 1 ? std::atoi(argv[1]) : 3;
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // This handle only hosts the cluster; it never connects, so its "no bootstrap.servers"
  // notice (level 5) is noise.
  rd_kafka_conf_set(conf, "log_level", "4", error, sizeof error);
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (handle == nullptr) {
    std::cerr << "kafka_mock_cluster: " << error << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, brokers);
  if (cluster == nullptr) {
    std::cerr << "kafka_mock_cluster: cannot create the mock cluster\n";
    return 1;
  }
  std::cout << "bootstrap " << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string command;
    words >> command;
    rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (command == "topic") {
      std::string name;
      int partitions = 1;
      words >> name >> partitions;
      result =
          rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, brokers < 3 ? brokers : 3);
    } else if (command == "down") {
      result = rd_kafka_mock_broker_set_down(cluster, -1);
    } else if (command == "up") {
      result = rd_kafka_mock_broker_set_up(cluster, -1);
    } else if (command == "rtt") {
      int ms = 0;
      words >> ms;
      result = rd_kafka_mock_broker_set_rtt(cluster, -1, ms);
    } else if (!command.empty()) {
      std::cout << "error unknown command " << command << std::endl;
      continue;
    }
    if (result == RD_KAFKA_RESP_ERR_NO_ERROR)
      std::cout << "ok" << std::endl;
    else
      std::cout << "error " << rd_kafka_err2str(result) << std::endl;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(handle);
  return 0;
}
