"""Operations over HTTP: a real Prometheus server (Debian's) scrapes mxringd's /metrics and
its query API returns exactly what was sent; promtool accepts the exposition; /healthz and
/readyz answer (test_storage.py sees readyz turn 503 on a full disk); the metrics listener refuses what
is not a small GET without disturbing SMTP."""
import json
import os
import smtplib
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import free_port, http_get, metric


def send(server, count, rcpts=("bob@localhost",)):
    with smtplib.SMTP(server.host, server.port) as c:
        for i in range(count):
            c.sendmail("alice@client.test", list(rcpts), b"Subject: m%d\r\n\r\nx\r\n" % i)


@pytest.fixture
def prometheus(tmp_path):
    processes = []

    def start(target_port):
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: mxring
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
""")
        process = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        return port

    yield start
    for p in processes:
        p.terminate()
        p.wait(timeout=30)


def query(port, expression):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            result = json.loads(r.read())["data"]["result"]
    except (OSError, urllib.error.URLError):
        return None
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_exactly_what_was_sent(mxringd, prometheus, tmp_path):
    metrics_port = free_port()
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"), "--metrics",
                     f"127.0.0.1:{metrics_port}")
    send(server, 17)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(server, 1, rcpts=("nobody@elsewhere.test",))
    api = prometheus(metrics_port)
    expected = {
        'mxring_messages_total{result="stored"}': 17,
        'mxring_messages_stored_total{durability="fsync"}': 17,
        "mxring_connections_accepted_total": 2,
        "mxring_storage_records_total": 17,
        "mxring_store_latency_seconds_count": 17,
        # By reply code: smtplib waits for every reply, so each answer is timed on its own.
        'mxring_transactions_total{code="250"}': 17,
        'mxring_recipients_total{code="250"}': 17,
        'mxring_recipients_total{code="550"}': 1,
        'mxring_replies_total{command="MAIL",code="250"}': 18,
        'mxring_replies_total{command="DATA",code="354"}': 17,
        'mxring_replies_total{command="greeting",code="220"}': 2,
        'mxring_phase_seconds_count{phase="end_of_data"}': 17,
        'mxring_phase_seconds_count{phase="mail"}': 18,
        'mxring_phase_seconds_count{phase="rcpt"}': 18,
        'mxring_phase_seconds_count{phase="banner_to_ehlo"}': 2,
        "mxring_storage_in_flight": 0,
        'up{job="mxring"}': 1,
    }
    deadline = time.monotonic() + 60
    values = {}
    while time.monotonic() < deadline:
        values = {e: query(api, e) for e in expected}
        if values == expected:
            break
        time.sleep(0.5)
    assert values == expected
    # promtool (Prometheus's own linter) accepts the exposition as it is.
    _, page = http_get(metrics_port, "/metrics")
    lint = subprocess.run(["promtool", "check", "metrics"], input=page, capture_output=True,
                          text=True, timeout=30)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert metric(page, "mxring_connections_open") == 0
    assert metric(page, "mxring_storage_syncs_total") >= 1
    # Every octet the clients sent: at least the 17 bodies and the commands around them.
    assert metric(page, "mxring_received_bytes_total") > 17 * len(b"Subject: m0\r\n\r\nx\r\n")


def test_health_and_readiness(mxringd, tmp_path):
    metrics_port = free_port()
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"), "--metrics",
                     f"127.0.0.1:{metrics_port}")
    assert http_get(metrics_port, "/healthz") == (200, "ok\n")
    assert http_get(metrics_port, "/readyz") == (200, "ready\n")
    assert http_get(metrics_port, "/nothing-here")[0] == 404
    send(server, 3)
    status, page = http_get(metrics_port, "/metrics")
    assert status == 200 and metric(page, 'mxring_messages_total{result="stored"}') == 3


def test_the_metrics_listener_refuses_junk_and_smtp_carries_on(mxringd):
    metrics_port = free_port()
    server = mxringd("--metrics", f"127.0.0.1:{metrics_port}")

    def raw(payload):
        with socket.create_connection(("127.0.0.1", metrics_port), timeout=15) as s:
            s.sendall(payload)
            received = b""
            while chunk := s.recv(65536):
                received += chunk
            return received

    assert raw(b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    assert raw(b"GET /" + b"a" * 10000).startswith(b"HTTP/1.1 431 ")
    assert raw(b"HEAD /metrics HTTP/1.1\r\n\r\n").endswith(b"\r\n\r\n")  # headers only
    # A lone LF ends a line too (RFC 9112 §2.2), as a probe written with printf sends it.
    probe = raw(b"GET /healthz HTTP/1.0\nUser-Agent: probe\n\n")
    assert probe.startswith(b"HTTP/1.1 200 ") and probe.endswith(b"\r\n\r\nok\n"), probe
    started = time.monotonic()
    assert raw(b"GET /metri") == b""  # never finished: dropped at the deadline
    assert time.monotonic() - started < 14
    send(server, 2)
    status, page = http_get(metrics_port, "/metrics")
    assert status == 200 and metric(page, 'mxring_messages_total{result="stored"}') == 2
    assert metric(page, "mxring_connections_accepted_total") == 1
    assert server.process.poll() is None
    assert os.path.exists(f"/proc/{server.process.pid}")


def test_idle_metrics_connections_cannot_take_what_smtp_needs(mxringd):
    """Past 64 open at once, a new metrics connection is closed at once: idle ones (each kept
    up to 10 s) would otherwise take every file descriptor the SMTP listener needs."""
    metrics_port = free_port()
    server = mxringd("--metrics", f"127.0.0.1:{metrics_port}", "--max-connections", "200")
    idle = [socket.create_connection(("127.0.0.1", metrics_port), timeout=15)
            for _ in range(1500)]
    try:
        closed = 0
        for s in idle[64:]:
            s.settimeout(5)
            try:
                closed += s.recv(1) == b""
            except (ConnectionResetError, TimeoutError):
                pass
        assert closed == len(idle) - 64
        send(server, 1)  # SMTP is served all the while
        idle[0].settimeout(0.5)
        with pytest.raises(TimeoutError):
            idle[0].recv(1)  # the first 64 are held until their deadline, as before
    finally:
        for s in idle:
            s.close()
    status, page = http_get(metrics_port, "/metrics")
    assert status == 200 and metric(page, 'mxring_messages_total{result="stored"}') == 1
    assert server.process.poll() is None


def test_tls_sessions_are_counted_by_version_and_cipher(mxringd, tmp_path):
    from certificates import insecure_client_context, make_certificate
    cert, key = make_certificate(str(tmp_path), "mx", ["mx.test"], "ec")
    metrics_port = free_port()
    server = mxringd("--tls-cert", cert, "--tls-key", key, "--metrics", f"127.0.0.1:{metrics_port}")
    for _ in range(3):
        with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as client:
            client.starttls(context=insecure_client_context())
            client.sendmail("alice@client.test", ["bob@localhost"], b"Subject: t\r\n\r\nx\r\n")
    _, page = http_get(metrics_port, "/metrics")
    series = ('mxring_tls_sessions_total{version="TLSv1.3",'
              'cipher="TLS_CHACHA20_POLY1305_SHA256"}')
    assert metric(page, series) == 3, page
    assert metric(page, 'mxring_replies_total{command="STARTTLS",code="220"}') == 3
    lint = subprocess.run(["promtool", "check", "metrics"], input=page, capture_output=True,
                          text=True, timeout=30)
    assert lint.returncode == 0, lint.stdout + lint.stderr
