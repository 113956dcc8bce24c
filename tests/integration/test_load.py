"""Load held, and signals under load: thousands of concurrent connections each completing
transactions (2,000 for 10 s in `make test`, 10,000 for 60 s in `make soak`), SIGHUP reloads
and a SIGTERM drain while `mxring bench` drives the server. Every time: no reply but the
expected ones, every acknowledged message in the spool byte for byte (--ack-log SHA-256s
against the reader written from SPOOL-FORMAT.md), and server RSS flat once the connections
are open. Nothing here is timed: durations only bound the load."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import MXRINGD, free_port, raise_file_limit, scraped
from spool_cli import assert_acknowledged_stored, spool

MXRING = os.path.join(os.path.dirname(MXRINGD), "mxring")
SOAK = bool(os.environ.get("MXRING_SOAK"))
CONNECTIONS, SECONDS = (10_000, 60) if SOAK else (2_000, 10)
# Messages per second over all connections: every connection keeps completing transactions,
# and the spool (fsync) stays a size the check can read back.
RATE = 8_000 if SOAK else 4_000


class Load:
    """`mxring bench` in the background, and the server's RSS sampled while it runs."""

    def __init__(self, server, ack_log, *args):
        self.server = server
        self.command = [MXRING, "bench", "--json", "--target", f"127.0.0.1:{server.port}",
                        "--spread-sources", "--ack-log", str(ack_log), *args]
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True,
                                        preexec_fn=raise_file_limit)
        self.rss = []  # (seconds since start, KiB)
        self.started = time.monotonic()
        self._sampling = threading.Thread(target=self._sample, daemon=True)
        self._sampling.start()

    def _sample(self):
        while self.process.poll() is None:
            try:
                kib = self.server.rss_kib()
            except (OSError, AssertionError):  # the server has gone
                return
            self.rss.append((time.monotonic() - self.started, kib))
            time.sleep(0.25)

    def report(self, timeout):
        out, err = self.process.communicate(timeout=timeout)
        self._sampling.join()
        assert out, err
        return self.process.returncode, json.loads(out)


def acknowledged(ack_log):
    return [line.split() for line in ack_log.read_text().splitlines()]


def assert_every_ack_stored(spool_dir, acks):
    assert_acknowledged_stored(spool_dir, acks)
    assert spool(spool_dir, "verify").returncode == 0


def test_thousands_of_connections_held_while_they_deliver(mxringd, tmp_path):
    spool_dir, ack_log, metrics_port = tmp_path / "spool", tmp_path / "acks", free_port()
    server = mxringd("--durability", "fsync", "--spool", str(spool_dir),
                     "--metrics", f"127.0.0.1:{metrics_port}",
                     "--max-connections-per-ip", "0", "--log-level", "warning")
    load = Load(server, ack_log, "--connections", str(CONNECTIONS), "--duration",
                str(SECONDS), "--rate", str(RATE), "--size", "1k,10k")
    peak = 0
    while load.process.poll() is None:
        peak = max(peak, scraped(metrics_port, "mxring_connections_open"))
        time.sleep(0.5)
    code, report = load.report(timeout=SECONDS + 120)
    assert code == 0 and report["errors"] == 0, report
    assert set(report["replies"]) == {"220", "250", "354", "221"}, report["replies"]
    assert report["connections_opened"] == CONNECTIONS  # none dropped, none reopened
    assert peak == CONNECTIONS  # all open at once, each one delivering
    assert report["messages"] >= CONNECTIONS
    assert server.stop() == 0
    acks = acknowledged(ack_log)
    assert len(acks) >= report["messages"]
    assert_every_ack_stored(spool_dir, acks)
    # Flat: once every connection is open (the first third), RSS grows by no more than a few
    # MiB however many messages pass through.
    settled = [kib for t, kib in load.rss if t > SECONDS / 3]
    assert settled and max(settled) - settled[0] < 8 * 1024, load.rss
    print(f"held {peak} connections for {SECONDS} s: {report['messages']} messages, "
          f"{len(acks)} acknowledged and all stored, replies {report['replies']}, "
          f"RSS {settled[0] // 1024}->{settled[-1] // 1024} MiB (max {max(settled) // 1024})")


def test_sighup_under_load_drops_nothing(mxringd, tmp_path):
    spool_dir, ack_log = tmp_path / "spool", tmp_path / "acks"
    users = tmp_path / "users"
    users.write_text("rcpt-*\n")
    server = mxringd("--durability", "fsync", "--spool", str(spool_dir), "--users", str(users),
                     "--log-level", "warning")
    load = Load(server, ack_log, "--connections", "200", "--duration", "4", "--rcpts", "2")
    reloads = 0
    while load.process.poll() is None and reloads < 40:
        time.sleep(0.1)
        users.write_text(f"rcpt-*\nreload-{reloads}\n")
        server.signal(signal.SIGHUP)
        reloads += 1
    code, report = load.report(timeout=120)
    assert reloads >= 10
    assert code == 0 and report["errors"] == 0, report
    assert set(report["replies"]) == {"220", "250", "354", "221"}, report["replies"]
    assert server.stop() == 0
    acks = acknowledged(ack_log)
    assert_every_ack_stored(spool_dir, acks)
    print(f"{reloads} SIGHUP reloads under load: {len(acks)} acknowledged, all stored")


@pytest.mark.parametrize("grace", ["30", "0"])
def test_sigterm_under_load_drains_and_loses_nothing(mxringd, tmp_path, grace):
    """SIGTERM mid-load: transactions in flight finish (or, with no grace left, get 421), new
    ones are refused with 421, the server exits 0, and every 250 the clients saw is stored."""
    spool_dir, ack_log = tmp_path / "spool", tmp_path / "acks"
    server = mxringd("--durability", "fsync", "--spool", str(spool_dir),
                     "--shutdown-grace", grace, "--log-level", "warning")
    load = Load(server, ack_log, "--connections", "300", "--duration", "6")
    time.sleep(2)
    server.signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0
    code, report = load.report(timeout=60)
    # The clients see the drain and nothing else: 421 in place of whatever reply they waited
    # for, connections closed (a reset when pipelined commands were left unread), and new
    # connections refused once the listeners are gone.
    assert set(report["replies"]) <= {"220", "250", "354", "221", "421"}, report["replies"]
    for kind in report["error_kinds"]:
        assert kind.endswith(" 421") or kind in ("closed", "recv", "send", "connect"), kind
    acks = acknowledged(ack_log)
    assert len(acks) == report["messages"] > 0
    assert_every_ack_stored(spool_dir, acks)
    print(f"SIGTERM (grace {grace} s) under load: {len(acks)} acknowledged, all stored; "
          f"client saw {report['error_kinds']}")
