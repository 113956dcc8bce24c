"""Structured logs from a running mxringd: one JSON object a line per connection and per
transaction with the fields operators search by; failures always logged, successes sampled on
request; a level switch; text for terminals; a log file reopened on SIGHUP after rotation."""
import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from spool_cli import MXRING


def send(server, count, rcpts=("bob@localhost",), helo="client.test"):
    with smtplib.SMTP(server.host, server.port, local_hostname=helo) as c:
        for i in range(count):
            c.sendmail("alice@client.test", list(rcpts), b"Subject: m%d\r\n\r\nx\r\n" % i)


def log_lines(server):
    """Every line of the server's log, parsed as JSON (a line that is not JSON fails)."""
    return [json.loads(line) for line in server.output().splitlines() if line]


def events(server, name, count, timeout=10):
    """The `name` events once there are `count` of them (the log writer batches its writes)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in log_lines(server) if e["event"] == name]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_every_line_is_json_with_a_transaction_and_a_connection_line(mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    send(server, 3, rcpts=("bob@localhost", "carol@localhost"))
    transactions = events(server, "transaction", 3)
    connections = events(server, "connection", 1)
    assert len(transactions) == 3 and len(connections) == 1
    ids = set()
    for t in transactions:
        assert t["level"] == "info" and t["code"] == 250 and t["result"] == "stored"
        assert t["client"] == "127.0.0.1" and t["helo"] == "client.test"
        assert t["from"] == "alice@client.test" and t["rcpts"] == 2
        assert t["size"] > 0
        assert t["store_us"] >= 0 and t["data_us"] >= 0
        assert t["ts"].endswith("Z") and "T" in t["ts"]
        ids.add(t["queue_id"])
    assert len(ids) == 3
    c = connections[0]
    assert c["messages"] == 3 and c["refused"] == 0 and c["reason"] == "quit"
    assert c["durability"] == "fsync" and c["listener"] == f"127.0.0.1:{server.port}"
    assert c["client_port"] > 0 and c["bytes_in"] > 0
    # Operational lines are JSON too.
    assert any(e["event"] == "log" and "listening on" in e["message"] for e in log_lines(server))


def test_refusals_are_warnings_and_hostile_text_stays_one_line(mxringd):
    server = mxringd()
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.recv(1000)
        # A sender whose quoted local part holds a quote and a backslash (RFC 5321 §4.1.2
        # allows both), then content with a bare LF.
        s.sendall(b"EHLO client.test\r\n")
        time.sleep(0.2)
        s.sendall(b'MAIL FROM:<"a\\"b\\\\c"@b.test>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n')
        time.sleep(0.2)
        s.sendall(b"Subject: x\r\n\r\nbare\nLF\r\n.\r\nQUIT\r\n")
        reply = b""
        while b"221" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert b"550 5.6.0" in reply
    refused = events(server, "transaction", 1)
    assert len(refused) == 1
    assert refused[0]["level"] == "warning" and refused[0]["code"] == 550
    assert refused[0]["result"] == "refused" and refused[0]["from"] == '"a\\"b\\\\c"@b.test'
    connection = events(server, "connection", 1)[0]
    assert connection["refused"] == 1 and connection["errors"] == 1


def test_sampling_keeps_one_in_n_successes_and_every_failure(mxringd):
    server = mxringd("--log-sample", "4")
    send(server, 20)
    with pytest.raises(smtplib.SMTPDataError):
        with smtplib.SMTP(server.host, server.port) as c:
            c.sendmail("a@client.test", ["bob@localhost"], b"bare\nLF\r\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        transactions = [e for e in log_lines(server) if e["event"] == "transaction"]
        if any(t["code"] == 550 for t in transactions) and len(transactions) >= 6:
            break
        time.sleep(0.05)
    stored = [t for t in transactions if t["code"] == 250]
    # 20 stored on one connection (one reactor): exactly every 4th is kept.
    assert len(stored) == 5
    assert [t["code"] for t in transactions].count(550) == 1
    # 1 in 0 keeps nothing: refused, in the words every other limit uses.
    from conftest import MXRINGD
    zero = subprocess.run([MXRINGD, "--log-sample", "0", "--check-config"], capture_output=True,
                          text=True, timeout=30)
    assert zero.returncode != 0 and "log_sample: at least 1\n" in zero.stderr, zero.stderr


def test_warning_level_logs_only_problems(mxringd):
    server = mxringd("--log-level", "warning")
    send(server, 5)
    with pytest.raises(smtplib.SMTPDataError):
        with smtplib.SMTP(server.host, server.port) as c:
            c.sendmail("a@client.test", ["bob@localhost"], b"nul\x00here\r\n")
    assert len(events(server, "transaction", 1)) == 1
    time.sleep(0.3)  # what else would have been written by now
    lines = log_lines(server)
    assert [e["code"] for e in lines if e["event"] == "transaction"] == [550]
    assert all(e["level"] in ("warning", "error") for e in lines)


def test_text_format_for_people(mxringd):
    server = mxringd("--log-format", "text")
    send(server, 1)
    deadline = time.monotonic() + 10
    while "mxringd: connection " not in server.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = server.output()
    line = next(l for l in text.splitlines() if " mxringd: transaction " in l)
    assert " info: mxringd: transaction queue_id=" in line
    assert " from=alice@client.test " in line and " code=250 " in line
    assert "info: mxringd: listening on 127.0.0.1:" in text


def test_log_file_is_reopened_on_sighup_after_rotation(mxringd, tmp_path):
    path = tmp_path / "mxringd.log"
    server = mxringd("--log-file", str(path))
    send(server, 1)
    deadline = time.monotonic() + 10
    while '"event":"transaction"' not in path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert '"event":"transaction"' in path.read_text()
    os.rename(path, tmp_path / "mxringd.log.1")  # what logrotate does
    server.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    send(server, 1)
    _, fresh = transaction_lines(path, 1)
    assert len(fresh) == 1
    rotated = (tmp_path / "mxringd.log.1").read_text()
    assert rotated.count('"event":"transaction"') == 1
    assert server.stop() == 0
    assert '"message":"stopped"' in path.read_text()


def transaction_lines(path, count, timeout=10):
    """The transaction lines of a log file once there are `count` (its whole lines must be
    JSON; a line still being appended to a live file is not read yet)."""
    deadline = time.monotonic() + timeout
    while True:
        data = path.read_bytes()
        whole = data[:data.rfind(b"\n") + 1]
        found = [e for e in map(json.loads, whole.splitlines()) if e["event"] == "transaction"]
        if len(found) >= count or time.monotonic() > deadline:
            return data, found
        time.sleep(0.05)


def test_a_log_file_cut_by_copytruncate_goes_on_from_its_start(mxringd, tmp_path):
    """logrotate's copytruncate copies the file and cuts it to nothing behind mxringd, which
    goes on at the new end: no hole of zeros where the old lines were, none written twice."""
    path = tmp_path / "mxringd.log"
    server = mxringd("--log-file", str(path))
    send(server, 1)
    _, before = transaction_lines(path, 1)
    assert len(before) == 1
    shutil.copy(path, tmp_path / "mxringd.log.1")
    os.truncate(path, 0)
    send(server, 2)
    data, after = transaction_lines(path, 2)
    assert b"\0" not in data
    assert len(after) == 2 and before[0]["queue_id"] not in {e["queue_id"] for e in after}
    assert server.stop() == 0
    assert '"message":"stopped"' in path.read_text()


def test_every_message_of_a_burst_has_its_one_line(mxringd, tmp_path):
    """Megabytes of lines (the log file is written a megabyte at a time): after a clean stop,
    each message smtp-source delivered has exactly one transaction line, whole."""
    path = tmp_path / "mxringd.log"
    server = mxringd("--log-file", str(path))
    result = subprocess.run(
        ["smtp-source", "-s", "20", "-m", "10000", "-l", "512", "-f", "alice@client.test",
         "-t", "bob@localhost", f"{server.host}:{server.port}"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    # Written without a stop: once the load ends, nothing stays held back from readers.
    _, found = transaction_lines(path, 10000)
    assert len(found) == 10000
    assert server.stop() == 0
    _, found = transaction_lines(path, 10000, timeout=0)
    assert len(found) == 10000 == server.messages_accepted()
    assert len({e["queue_id"] for e in found}) == 10000
    assert path.stat().st_size > 3 << 20


def while_flooded(server, rotate, count=200000):
    """mxring bench sends `count` messages as fast as it can while `rotate` runs every 50 ms
    (bounded by a deadline); its report."""
    load = subprocess.Popen([MXRING, "bench", "--json", "--target",
                             f"127.0.0.1:{server.port}", "--connections", "50", "--count",
                             str(count), "--size", "512"], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while load.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        rotate()
    report = json.loads(load.communicate(timeout=60)[0])
    assert report["errors"] == 0 and report["messages"] == count
    return report


def test_rotation_under_load_cuts_no_line_and_loses_none(mxringd, tmp_path):
    """logrotate's create mode (rename, then SIGHUP) again and again while mxring bench sends
    as fast as it can, so that lines are held mid-line behind direct writes when the file is
    replaced: every file holds whole JSON lines, and each message has its one line."""
    path = tmp_path / "mxringd.log"
    server = mxringd("--log-file", str(path))
    rotations = []

    def rename_and_reopen():
        if path.exists():  # reopened since the last rotation
            rotations.append(tmp_path / f"mxringd.log.{len(rotations) + 1}")
            os.rename(path, rotations[-1])
            server.signal(signal.SIGHUP)

    while_flooded(server, rename_and_reopen)
    assert server.stop() == 0
    ids = []
    for part in tmp_path.glob("mxringd.log*"):
        for line in part.read_bytes().splitlines():
            event = json.loads(line)  # a line cut at a rotation is not JSON
            if event["event"] == "transaction":
                ids.append(event["queue_id"])
    assert len(ids) == len(set(ids)) == 200000 == server.messages_accepted()


def test_copytruncate_under_load_leaves_no_hole(mxringd, tmp_path):
    """logrotate's copytruncate again and again while mxring bench sends as fast as it can.
    Lines written between a copy and its cut are lost (logrotate says so), and a copy or a
    cut that falls between the appends of one write can split a line. But every write is an
    append, so none lands past a hole of zeros where the old lines were, and the log goes on
    in whole lines at the file's new end."""
    path = tmp_path / "mxringd.log"
    server = mxringd("--log-file", str(path))
    copies = []

    def copy_and_truncate():
        copies.append(tmp_path / f"mxringd.log.{len(copies) + 1}")
        shutil.copy(path, copies[-1])
        os.truncate(path, 0)
        assert b"\0" not in copies[-1].read_bytes(), copies[-1]

    while_flooded(server, copy_and_truncate)
    assert server.stop() == 0
    data = path.read_bytes()
    assert b"\0" not in data
    events = [json.loads(line) for line in data.splitlines()[1:]]  # the first may be a tail
    assert events[-1]["event"] == "log" and events[-1]["message"] == "stopped"
