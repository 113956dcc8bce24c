"""The Kafka feed against librdkafka's mock cluster (a Kafka-protocol broker): in sink mode
(`--durability kafka`) the 250 waits for acks=all and what the client sent arrives on the
topic byte-identical with its envelope in the headers; a broker outage answers 451 and loses
nothing acknowledged; `mxring spool forward` ships the spool from a cursor and catches up
after an outage with no gaps."""
import re
import signal
import smtplib
import subprocess
import time

import pytest

from kafka_cluster import MockCluster
from conftest import MXRINGD
from spool_cli import MXRING, stored_ids, without_trace_header


@pytest.fixture
def cluster():
    c = MockCluster()
    yield c
    c.close()


def header_values(headers, name):
    return [value.decode() for key, value in headers if key == name]


def send(server, messages, rcpts=("bob@localhost",)):
    """(queue id or None, reply code) per message, on one connection."""
    results = []
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
        c.ehlo()
        for m in messages:
            assert c.mail("alice@client.test", ["BODY=8BITMIME"])[0] == 250
            for r in rcpts:
                assert c.rcpt(r)[0] == 250
            try:
                code, text = c.data(m)
            except smtplib.SMTPDataError as e:
                code, text = e.smtp_code, e.smtp_error
            queued = re.search(rb"queued as (\S+)", text) if code == 250 else None
            results.append((queued.group(1).decode() if queued else None, code, text))
    return results


def kafka_server(mxringd, cluster, *extra):
    return mxringd("--durability", "kafka", "--kafka-brokers", cluster.bootstrap,
                   "--kafka-topic", "mail", *extra)


def test_sink_mode_delivers_byte_identical_messages_with_envelope_headers(mxringd, cluster):
    cluster.create_topic("mail", 4)
    server = kafka_server(mxringd, cluster)
    messages = [b"Subject: k%d\r\n\r\nbody %d\r\n" % (i, i) for i in range(20)]
    messages.append(b"Subject: binary\r\n\r\n\xff\xfe\x80\r\n..dots\r\n")
    results = send(server, messages, rcpts=("bob@localhost", "carol@localhost"))
    assert all(code == 250 and b"(acknowledged by Kafka)" in text for _, code, text in results)
    server.stop()
    records = {key: (value, headers) for _, key, value, headers in
               cluster.consume("mail", 4, until_count=len(messages))}
    assert sorted(records) == sorted(queue_id for queue_id, _, _ in results)
    for (queue_id, _, _), sent in zip(results, messages):
        value, headers = records[queue_id]
        assert without_trace_header(value) == sent
        assert header_values(headers, "queue_id") == [queue_id]
        assert header_values(headers, "mail_from") == ["alice@client.test"]
        assert header_values(headers, "rcpt") == ["bob@localhost", "carol@localhost"]
        assert header_values(headers, "client_address") == ["127.0.0.1"]
        assert header_values(headers, "helo") == ["client.test"]
        assert header_values(headers, "body") == ["8BITMIME"]
        assert header_values(headers, "mxring.schema") == ["1"]


def test_broker_outage_answers_451_and_loses_nothing_acknowledged(mxringd, cluster):
    cluster.create_topic("mail", 2)
    server = kafka_server(mxringd, cluster, "--kafka-timeout-ms", "1500")
    before = send(server, [b"Subject: before\r\n\r\nx\r\n"] * 5)
    cluster.down()
    during = send(server, [b"Subject: during\r\n\r\nx\r\n"] * 2)
    assert [code for _, code, _ in during] == [451, 451]
    assert all(b"4.3.0" in text for _, _, text in during)
    cluster.up()
    # The producer reconnects on its own; until it has, messages may still time out.
    after = []
    deadline = time.monotonic() + 30
    while len([r for r in after if r[1] == 250]) < 5 and time.monotonic() < deadline:
        after += send(server, [b"Subject: after\r\n\r\nx\r\n"])
    server.stop()
    acknowledged = [queue_id for queue_id, code, _ in before + during + after if code == 250]
    assert len(acknowledged) >= 10
    on_topic = {key for _, key, _, _ in cluster.consume("mail", 2, until_count=len(acknowledged))}
    assert set(acknowledged) <= on_topic


def test_partitioning_by_recipient_domain_keeps_a_domain_on_one_partition(mxringd, cluster):
    cluster.create_topic("mail", 8)
    server = kafka_server(mxringd, cluster, "--kafka-partition-by", "recipient-domain",
                          "--domain", "a.test", "--domain", "b.test", "--domain", "c.test")
    sent = {}
    for domain in ("a.test", "b.test", "c.test"):
        for queue_id, code, _ in send(server, [b"Subject: p\r\n\r\nx\r\n"] * 6,
                                      rcpts=(f"user@{domain}",)):
            assert code == 250
            sent[queue_id] = domain
    server.stop()
    partitions = {}
    for partition, key, _, _ in cluster.consume("mail", 8, until_count=len(sent)):
        partitions.setdefault(sent[key], set()).add(partition)
    assert sorted(partitions) == ["a.test", "b.test", "c.test"]
    assert all(len(p) == 1 for p in partitions.values())


def check_config(*args):
    return subprocess.run([MXRINGD, "--durability", "kafka", "--kafka-brokers", "127.0.0.1:9",
                           *args, "--check-config"], capture_output=True, text=True, timeout=30)


def test_size_is_what_the_kafka_producer_can_send():
    """A message travels as one Kafka message, its envelope headers counted with it against
    the producer's message.max.bytes (1,000,000 unless set): EHLO's SIZE defaulted to 50 MiB
    and everything over about 1 MB was answered 451 for as long as senders retried."""
    default = check_config()
    assert default.returncode == 0 and "max_message_size = 934464\n" in default.stdout
    raised = check_config("--kafka-option", "message.max.bytes=20000000")
    assert "max_message_size = 19934464\n" in raised.stdout
    refused = check_config("--max-message-size", "2000000")
    assert refused.returncode != 0
    assert "raise message.max.bytes with --kafka-option message.max.bytes=N" in refused.stderr, \
        refused.stderr
    fits = check_config("--max-message-size", "2000000",
                        "--kafka-option", "message.max.bytes=3000000")
    assert fits.returncode == 0 and "max_message_size = 2000000\n" in fits.stdout


def test_a_message_kafka_can_never_take_gets_552_not_451(mxringd, cluster):
    """Under SIZE but over message.max.bytes with its envelope (a thousand recipients):
    refused for good (RFC 3463 X.3.4), where 451 had the sender retry it for days; the
    connection goes on, and the next message is stored."""
    cluster.create_topic("mail", 1)
    server = kafka_server(mxringd, cluster, "--kafka-option", "message.max.bytes=200000")
    body = b"Subject: big envelope\r\n\r\n" + (b"y" * 998 + b"\r\n") * 120
    rcpts = [f"{'r' * 60}-{i}@localhost" for i in range(1000)]
    (_, code, text), = send(server, [body], rcpts=rcpts)
    assert (code, text) == (552, b"5.3.4 Message too big for system")
    (queue_id, code, _), = send(server, [b"Subject: small\r\n\r\nx\r\n"])
    assert code == 250
    server.stop()
    assert "552: it never can be" in server.output()
    assert [key for _, key, _, _ in cluster.consume("mail", 1, until_count=1)] == [queue_id]


def test_kafka_durability_without_brokers_refuses_to_start(mxringd):
    with pytest.raises(RuntimeError, match="needs Kafka brokers"):
        mxringd("--durability", "kafka")


def forward(spool, cluster, *extra, **popen):
    command = [MXRING, "spool", "--dir", str(spool), "forward", "--cursor", "kafka",
               "--kafka-brokers", cluster.bootstrap, "--kafka-topic", "spool", *extra]
    return subprocess.Popen(command, stderr=subprocess.PIPE, **popen)


def test_forwarder_ships_the_spool_and_catches_up_after_an_outage(mxringd, cluster, tmp_path):
    cluster.create_topic("spool", 3)
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    first = [r[0] for r in send(server, [b"Subject: f%d\r\n\r\nx\r\n" % i for i in range(10)])]
    shipped = forward(tmp_path / "spool", cluster)
    assert shipped.wait(timeout=60) == 0, shipped.stderr.read()
    records = cluster.consume("spool", 3, until_count=10)
    assert sorted(key for _, key, _, _ in records) == sorted(first)

    cluster.down()
    follower = forward(tmp_path / "spool", cluster, "--follow", "--kafka-timeout-ms", "1000")
    # SMTP does not wait for Kafka: mail is accepted and spooled during the outage.
    second = [r[0] for r in send(server, [b"Subject: s%d\r\n\r\nx\r\n" % i for i in range(15)])]
    assert None not in second
    time.sleep(2.5)  # long enough for a batch to fail and be retried
    cluster.up()
    records = cluster.consume("spool", 3, until_count=25, timeout=60)
    follower.send_signal(signal.SIGTERM)
    assert follower.wait(timeout=60) == 0
    assert b"not acknowledged" in follower.stderr.read()
    server.stop()
    keys = {key for _, key, _, _ in records}
    assert keys == set(stored_ids(tmp_path / "spool"))  # no gaps
    # Each record carries the stored bytes; within a partition, spool order is kept.
    by_partition = {}
    for partition, key, _, _ in records:
        by_partition.setdefault(partition, []).append(key)
    order = first + second
    for keys_in_partition in by_partition.values():
        firsts = list(dict.fromkeys(keys_in_partition))
        assert firsts == sorted(firsts, key=order.index)


def test_forwarder_stops_at_a_record_kafka_can_never_take(mxringd, cluster, tmp_path):
    """A stored message over the producer's message.max.bytes is never sent and never skipped
    (at least once): `forward` ships what comes before it, says which one and what to raise,
    and exits 1, where it retried it for ever, even without --follow. Raised, the next run
    ships the rest."""
    cluster.create_topic("spool", 1)
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    sent = send(server, [b"Subject: small\r\n\r\nx\r\n",
                         b"Subject: large\r\n\r\n" + (b"y" * 998 + b"\r\n") * 300,
                         b"Subject: after\r\n\r\nx\r\n"])
    server.stop()
    ids = [queue_id for queue_id, _, _ in sent]
    for extra in ([], ["--follow"]):
        stopped = forward(tmp_path / "spool", cluster, "--kafka-option",
                          "message.max.bytes=200000", *extra)
        assert stopped.wait(timeout=60) == 1
        said = stopped.stderr.read().decode()
        assert f"{ids[1]} (" in said and "message.max.bytes" in said, said
    shipped = forward(tmp_path / "spool", cluster)
    assert shipped.wait(timeout=60) == 0, shipped.stderr.read()
    keys = [key for _, key, _, _ in cluster.consume("spool", 1, until_count=3)]
    assert keys == ids  # the first once (the cursor was saved before the large one), in order


def test_kafka_settings_come_from_the_config_file_and_flags_override_them(tmp_path):
    config = tmp_path / "mxringd.toml"
    config.write_text('durability = "kafka"\nkafka_brokers = "127.0.0.1:9"\n'
                      'kafka_topic = "from-file"\nkafka_linger_ms = 7\n'
                      'kafka_option = ["batch.size=65536", "security.protocol=plaintext"]\n')
    result = subprocess.run([MXRINGD, "--config", str(config), "--kafka-topic", "from-flag",
                             "--kafka-partition-by", "recipient-domain", "--check-config"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert 'durability = "kafka"' in lines
    assert 'kafka_brokers = "127.0.0.1:9"' in lines
    assert 'kafka_topic = "from-flag"' in lines
    assert 'kafka_partition_by = "recipient-domain"' in lines
    assert "kafka_linger_ms = 7" in lines
    assert 'kafka_option = ["batch.size=65536", "security.protocol=plaintext"]' in lines
    # What --check-config prints, --config reads back to the same configuration.
    (tmp_path / "again.toml").write_text(result.stdout)
    again = subprocess.run([MXRINGD, "--config", str(tmp_path / "again.toml"), "--check-config"],
                           capture_output=True, text=True, timeout=30)
    assert again.stdout == result.stdout
    refused = subprocess.run([MXRINGD, "--kafka-partition-by", "random", "--check-config"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "queue-id or recipient-domain" in refused.stderr
