"""The client access table (--client-access) on a running mxringd: a refused client is greeted
554 5.7.1 with the table's text and served nothing but QUIT (RFC 5321 §3.1), the first rule
holding a client decides, a permitted client's mail is stored, the refusals are counted and
logged, SIGHUP re-reads the table (and keeps the old one when the new one is wrong), and a
wrong table stops mxringd from starting with the line that is wrong. Clients: Python smtplib
and swaks, bound to addresses of 127.0.0.0/8, and smtplib over ::1."""
import json
import smtplib
import socket
import subprocess

import pytest

from conftest import MXRINGD, free_port, http_get, metric
from spool_cli import stored_records, without_trace_header
from test_server import reload_and_wait

TABLE = """# 127.0.0.2 is let in; the rest of 127.0.0.0/24 is not
127.0.0.2 permit
127.0.0.0/24 reject Mail from your network is not accepted here
"""


def greeting(server, source):
    """(code, text) of the greeting `source` gets."""
    try:
        with smtplib.SMTP(server.host, server.port, local_hostname="client.test",
                          source_address=(source, 0), timeout=10) as c:
            return 220, c.noop() and b""
    except smtplib.SMTPConnectError as e:
        return e.smtp_code, e.smtp_error


def lines_until(sock, count):
    """`count` reply lines from `sock`."""
    data = b""
    while data.count(b"\r\n") < count:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    return data.decode().splitlines()


def test_a_refused_client_is_greeted_554_and_served_only_quit(mxringd, tmp_path):
    table = tmp_path / "access"
    table.write_text(TABLE)
    metrics_port = free_port()
    server = mxringd("--client-access", str(table), "--metrics", f"127.0.0.1:{metrics_port}",
                     "--durability", "fsync", "--spool", str(tmp_path / "spool"))
    assert greeting(server, "127.0.0.3") == (
        554, b"5.7.1 Mail from your network is not accepted here")
    # The permitted host sends a message; it is stored as sent.
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test",
                      source_address=("127.0.0.2", 0), timeout=10) as c:
        c.sendmail("alice@client.test", ["bob@localhost"], b"Subject: let in\r\n\r\nbody\r\n")
    # Outside the table's ranges: permitted.
    assert greeting(server, "127.0.1.1")[0] == 220
    # A refused client that talks anyway: every command 503, a pipelined BDAT's chunk never
    # run, QUIT answered and the connection closed cleanly.
    with socket.create_connection((server.host, server.port), timeout=10,
                                  source_address=("127.0.0.4", 0)) as s:
        assert lines_until(s, 1) == ["554 5.7.1 Mail from your network is not accepted here"]
        s.sendall(b"EHLO client.test\r\n")
        assert lines_until(s, 1) == ["503 5.7.1 Error: access denied"]
        s.sendall(b"MAIL FROM:<a@client.test>\r\n")
        assert lines_until(s, 1) == ["503 5.7.1 Error: access denied"]
        chunk = b"MAIL FROM:<a@client.test>\r\nRCPT TO:<bob@localhost>\r\n"
        s.sendall(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        assert lines_until(s, 1) == ["503 5.5.1 Need MAIL command"]
        s.sendall(b"QUIT\r\n")
        assert lines_until(s, 1) == ["221 2.0.0 Bye"]
        assert s.recv(100) == b""
    _, page = http_get(metrics_port, "/metrics")
    assert metric(page, 'mxring_connections_refused_total{reason="client_access"}') == 2
    assert metric(page, 'mxring_replies_total{command="greeting",code="554"}') == 2
    server.stop()
    records = stored_records(tmp_path / "spool")
    assert len(records) == 1
    envelope, message = records[0]
    assert envelope["client"]["address"] == "127.0.0.2"
    assert without_trace_header(message) == b"Subject: let in\r\n\r\nbody\r\n"
    refusals = [json.loads(line) for line in server.output().splitlines()
                if '"connection_refused"' in line]
    assert [(r["client"], r["reason"]) for r in refusals] == [
        ("127.0.0.3", "client_access"), ("127.0.0.4", "client_access")]
    denied = [json.loads(line) for line in server.output().splitlines()
              if '"event":"connection"' in line and '"access":"denied"' in line]
    assert sorted(d["client"] for d in denied) == ["127.0.0.3", "127.0.0.4"]


def test_swaks_from_a_refused_address_is_told_why(mxringd, tmp_path):
    table = tmp_path / "access"
    table.write_text("127.0.0.5 reject Go away\n")
    server = mxringd("--client-access", str(table))
    refused = subprocess.run(
        ["swaks", "--server", f"{server.host}:{server.port}", "--local-interface", "127.0.0.5",
         "--helo", "client.test", "--from", "a@client.test", "--to", "bob@localhost"],
        capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "<** 554 5.7.1 Go away" in refused.stdout, refused.stdout
    let_in = subprocess.run(
        ["swaks", "--server", f"{server.host}:{server.port}", "--local-interface", "127.0.0.6",
         "--helo", "client.test", "--from", "a@client.test", "--to", "bob@localhost"],
        capture_output=True, text=True, timeout=60)
    assert let_in.returncode == 0, let_in.stdout + let_in.stderr
    server.stop()
    assert server.messages_accepted() == 1


def test_sighup_rereads_the_table_and_keeps_it_when_wrong(mxringd, tmp_path):
    table = tmp_path / "access"
    table.write_text("127.0.0.7 reject\n")
    server = mxringd("--client-access", str(table))
    assert greeting(server, "127.0.0.7")[0] == 554
    assert greeting(server, "127.0.0.8")[0] == 220
    table.write_text("127.0.0.8 reject\n")
    reload_and_wait(server, "client access table")
    assert greeting(server, "127.0.0.7")[0] == 220
    assert greeting(server, "127.0.0.8")[0] == 554
    table.write_text("127.0.0.8 reject\n127.0.0.9/24 reject\n")
    reload_and_wait(server, "reload failed, keeping the old configuration")
    assert "access:2: '127.0.0.9/24' has bits set past its prefix" in server.output()
    assert greeting(server, "127.0.0.7")[0] == 220
    assert greeting(server, "127.0.0.8")[0] == 554


def test_ipv6_clients_are_looked_up_as_ipv6(mxringd, tmp_path):
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))
        port = probe.getsockname()[1]
    table = tmp_path / "access"
    table.write_text("::1 reject No IPv6 loopback\n127.0.0.1 permit\n")
    server = mxringd("--client-access", str(table), "--listen", f"[::1]:{port}")
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP("::1", port, local_hostname="client.test", timeout=10)
    assert (refused.value.smtp_code, refused.value.smtp_error) == (554, b"5.7.1 No IPv6 loopback")
    assert greeting(server, "127.0.0.1")[0] == 220


def test_a_wrong_table_is_refused_at_start_with_its_line(tmp_path):
    table = tmp_path / "access"
    table.write_text("127.0.0.0/8 reject\n10.0.0.0/8 deny\n")
    result = subprocess.run([MXRINGD, "--client-access", str(table), "--check-config"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "access:2: 'deny': the action is permit or reject" in result.stdout + result.stderr
