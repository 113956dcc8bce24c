"""librdkafka's mock Kafka cluster in a process of its own (tests/support/kafka_mock_cluster),
and a consumer of it through confluent-kafka (Debian's python3-confluent-kafka)."""
import os
import subprocess
import time

from confluent_kafka import Consumer, TopicPartition

from conftest import MXRINGD

KAFKA_MOCK_CLUSTER = os.environ.get("KAFKA_MOCK_CLUSTER",
                                    os.path.join(os.path.dirname(MXRINGD), "kafka_mock_cluster"))


class MockCluster:
    def __init__(self, brokers=3):
        self.process = subprocess.Popen([KAFKA_MOCK_CLUSTER, str(brokers)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().split()
        assert line[0] == "bootstrap", line
        self.bootstrap = line[1]

    def command(self, text):
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer == "ok", answer

    def create_topic(self, name, partitions):
        self.command(f"topic {name} {partitions}")

    def down(self):
        self.command("down")

    def up(self):
        self.command("up")

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)

    def consume(self, topic, partitions, until_count, timeout=30):
        """Every record on the topic from offset 0 as (partition, key, value, headers list),
        once `until_count` have arrived or `timeout` seconds passed."""
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "mxring-tests",
                             "enable.auto.commit": False, "broker.address.family": "v4"})
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        records = []
        deadline = time.monotonic() + timeout
        while len(records) < until_count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            records.append((message.partition(), message.key().decode(), message.value(),
                            message.headers() or []))
        consumer.close()
        return records
