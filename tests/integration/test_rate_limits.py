"""Per-client rate limits on a running mxringd with two reactors: connections (421 4.7.0),
messages (450 4.7.1 at MAIL) and recipients (450 4.7.1 at RCPT) trip at exactly the configured
count per address and per /24, whichever reactor the kernel hands each connection to, and
reset when the window ends. Failed AUTH per network is in test_auth.py."""
import smtplib
import time

import pytest

from conftest import http_get, free_port

WINDOW = 3600  # seconds: counts that must not reset while a loaded machine runs the test
SHORT_WINDOW = 4  # for the test that waits for a window to end


def connect(server, source="127.0.0.1"):
    return smtplib.SMTP(server.host, server.port, local_hostname="client.test",
                        source_address=(source, 0), timeout=10)


def greeting_code(server, source="127.0.0.1"):
    try:
        with connect(server, source) as c:
            return c.noop()[0] and 220
    except smtplib.SMTPConnectError as e:
        return e.smtp_code


def metric(page, name):
    for line in page.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_connection_rate_per_address_trips_at_the_count(mxringd):
    metrics_port = free_port()
    server = mxringd("--connection-rate-per-ip", "5", "--rate-window", str(WINDOW),
                     "--metrics", f"127.0.0.1:{metrics_port}")
    # Ten connections spread over both reactors by the kernel: five admitted, then refused.
    codes = [greeting_code(server) for _ in range(10)]
    assert codes == [220] * 5 + [421] * 5, codes
    # Another address has its own count.
    assert greeting_code(server, "127.0.0.2") == 220
    _, page = http_get(metrics_port, "/metrics")
    assert metric(page, 'mxring_connections_refused_total{reason="rate"}') == 5
    assert metric(page, 'mxring_replies_total{command="greeting",code="421"}') == 5
    # Two clients are far from the 262,144 each reactor holds: every event was counted.
    assert metric(page, "mxring_rate_limit_untracked_total") == 0


def test_a_new_window_admits_again(mxringd):
    server = mxringd("--connection-rate-per-ip", "2", "--rate-window", str(SHORT_WINDOW))
    started = time.monotonic()
    codes = [greeting_code(server) for _ in range(3)]
    if time.monotonic() - started < SHORT_WINDOW:  # else the window ended under our feet
        assert codes == [220, 220, 421]
    time.sleep(max(0.0, started + SHORT_WINDOW + 0.5 - time.monotonic()))
    assert greeting_code(server) == 220


def test_message_rate_per_network_spans_addresses(mxringd):
    server = mxringd("--message-rate-per-net", "4", "--rate-window", str(WINDOW))
    results = []
    for source in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):  # one /24
        with connect(server, source) as c:
            for _ in range(2):
                try:
                    c.sendmail("a@client.test", ["bob@localhost"], b"Subject: r\r\n\r\nx\r\n")
                    results.append(250)
                except smtplib.SMTPSenderRefused as e:
                    assert e.smtp_error.startswith(b"4.7.1 Too many messages")
                    results.append(e.smtp_code)
    assert results == [250, 250, 250, 250, 450, 450]
    with connect(server, "127.0.1.1") as c:  # another /24
        c.sendmail("a@client.test", ["bob@localhost"], b"x\r\n")


def test_recipient_rate_per_address(mxringd):
    server = mxringd("--recipient-rate-per-ip", "3", "--rate-window", str(WINDOW))
    with connect(server) as c:
        c.ehlo()
        c.mail("a@client.test")
        codes = [c.rcpt(f"r{i}@localhost")[0] for i in range(5)]
        assert codes == [250, 250, 250, 450, 450]
        assert c.data(b"Subject: three\r\n\r\nx\r\n")[0] == 250  # the admitted ones still go
    with connect(server) as c:  # the count is the address's, not the connection's
        c.ehlo()
        c.mail("a@client.test")
        assert c.rcpt("late@localhost")[0] == 450


def test_limits_change_on_sighup(mxringd, tmp_path):
    import signal
    config = tmp_path / "mxringd.toml"
    config.write_text("connection_rate_per_ip = 2\nrate_window = 60\n")
    server = mxringd("--config", str(config))
    assert [greeting_code(server) for _ in range(3)] == [220, 220, 421]
    config.write_text("connection_rate_per_ip = 4\nrate_window = 60\n")
    server.signal(signal.SIGHUP)
    assert server.wait_for_output("reloaded")
    assert [greeting_code(server) for _ in range(3)] == [220, 220, 421]


def test_limits_a_reload_turns_on_count_across_reactors(mxringd, tmp_path):
    """Started without limits, mxringd has no rings between its reactors (they take memory in
    the square of the reactors); a reload that turns limits on makes them, so the count is
    still the client's, whichever reactor each connection lands on."""
    import signal
    config = tmp_path / "mxringd.toml"
    config.write_text("rate_window = 3600\n")
    server = mxringd("--config", str(config))
    assert [greeting_code(server) for _ in range(6)] == [220] * 6
    config.write_text("connection_rate_per_ip = 5\nrate_window = 3600\n")
    server.signal(signal.SIGHUP)
    assert server.wait_for_output("reloaded")
    time.sleep(0.2)  # the reactors pick the new configuration up on their next wake
    codes = [greeting_code(server) for _ in range(10)]
    assert codes == [220] * 5 + [421] * 5, codes


@pytest.mark.parametrize("flag", ["--rate-ipv4-prefix", "--rate-window"])
def test_nonsense_settings_are_refused(flag):
    import subprocess
    from conftest import MXRINGD
    result = subprocess.run([MXRINGD, flag, "0" if flag == "--rate-window" else "33",
                             "--check-config"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
