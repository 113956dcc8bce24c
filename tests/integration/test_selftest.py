"""`mxring selftest` against a real mxringd (every trap refused once the greeting is held
back) and against a deliberately lax server written here (the traps it falls into are
reported as FAIL, so the probes can tell the difference). Also mxringd's --greet-delay
refusing an early talker seen by a raw socket, while smtplib, which waits, is served."""
import json
import os
import smtplib
import socket
import socketserver
import subprocess
import time

import pytest

from certificates import make_certificate
from conftest import MXRINGD
from smtp_wire import threaded_server

MXRING = os.path.join(os.path.dirname(MXRINGD), "mxring")


def selftest(port, *extra):
    result = subprocess.run([MXRING, "selftest", f"127.0.0.1:{port}", "--json", *extra],
                            capture_output=True, text=True, timeout=300)
    verdicts = {}
    for line in result.stdout.splitlines():
        check = json.loads(line)
        verdicts[check["check"]] = (check["verdict"], check["detail"])
    return result.returncode, verdicts


def test_mxringd_passes_every_check(mxringd, tmp_path):
    cert, key = make_certificate(str(tmp_path), "mx", ["mx.test"], "ec")
    server = mxringd("--greet-delay", "1", "--tls-cert", cert, "--tls-key", key)
    code, verdicts = selftest(server.port, "--rcpt", "postmaster@localhost")
    assert len(verdicts) == 15
    assert {v for v, _ in verdicts.values()} == {"PASS"}, verdicts
    assert code == 0
    assert verdicts["early-talker"][1].startswith("refused: 554")
    assert "550 5.6.0" in verdicts["smuggling <LF>.<LF>"][1]
    for check in ("open-relay", "relay user%elsewhere", "relay elsewhere!user",
                  'relay "user@elsewhere"'):
        assert verdicts[check][1].endswith("550 5.7.1 Relay access denied"), verdicts[check]
    server.stop()
    assert server.messages_accepted() == 0  # every smuggling probe was refused whole


def test_without_a_greeting_delay_an_early_talker_cannot_be_seen(mxringd):
    server = mxringd()
    code, verdicts = selftest(server.port)
    assert verdicts["early-talker"][0] == "FAIL" and code == 1
    assert verdicts["starttls-injection"][0] == "SKIP"  # no certificate, no STARTTLS
    # Without a domain in --rcpt, routing through an accepted domain cannot be tried.
    routes = ("relay user%elsewhere", "relay elsewhere!user", 'relay "user@elsewhere"')
    assert {verdicts[check][0] for check in routes} == {"SKIP"}
    others = {name: v for name, (v, _) in verdicts.items()
              if name not in ("early-talker", "starttls-injection", *routes)}
    assert set(others.values()) == {"PASS"}, verdicts


def test_greet_delay_refuses_early_talkers_and_serves_patient_clients(mxringd):
    server = mxringd("--greet-delay", "1")
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.sendall(b"EHLO hasty.test\r\n")
        received = b""
        while chunk := s.recv(4096):
            received += chunk
    assert received == b"554 5.5.1 Protocol error: client sent data before the greeting\r\n"
    with smtplib.SMTP(server.host, server.port, timeout=10) as c:  # waits for the 220
        c.sendmail("a@client.test", ["bob@localhost"], b"Subject: patient\r\n\r\nx\r\n")


def test_the_greeting_waits_its_whole_delay_and_the_command_timeout_counts_from_it(mxringd):
    # A command timeout shorter than the delay used to release the greeting when it ran out.
    server = mxringd("--greet-delay", "3", "--command-timeout", "1")
    with socket.create_connection((server.host, server.port), timeout=20) as s:
        connected = time.monotonic()
        assert s.recv(4096).startswith(b"220 ")
        greeted = time.monotonic()
        assert greeted - connected >= 3.0
        assert s.recv(4096).startswith(b"421 4.4.2 ")  # idle after the greeting
        assert time.monotonic() - greeted >= 1.0
        assert s.recv(4096) == b""


class LaxHandler(socketserver.StreamRequestHandler):
    """What not to do: lines end at any LF, no length limit, DATA ends at LF.LF too."""

    def handle(self):
        out = self.wfile
        out.write(b"220 lax.test ESMTP\r\n")
        in_data = False
        for raw in self.rfile:
            line = raw.rstrip(b"\r\n")
            if in_data:
                if line == b".":
                    in_data = False
                    out.write(b"250 queued\r\n")
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                out.write(b"250-lax.test\r\n250 PIPELINING\r\n")
            elif verb == b"DATA":
                in_data = True
                out.write(b"354 go\r\n")
            elif verb == b"QUIT":
                out.write(b"221 bye\r\n")
                return
            else:
                out.write(b"250 ok\r\n")


@pytest.fixture
def lax_server():
    with threaded_server(LaxHandler) as port:
        yield port


def test_a_lax_server_is_caught(lax_server):
    code, verdicts = selftest(lax_server, "--rcpt", "postmaster@lax.test")
    assert code == 1
    for check in ("smuggling <LF>.<LF>", "smuggling <CRLF>.<LF>", "bare-lf-command",
                  "long-command-line", "early-talker", "pipelining-after-data", "open-relay",
                  "relay user%elsewhere",
                  "relay elsewhere!user", 'relay "user@elsewhere"'):
        assert verdicts[check][0] == "FAIL", (check, verdicts[check])
    assert verdicts["smuggling <CR>.<CR>"][0] == "PASS"  # it does not split on a bare CR
    assert verdicts["starttls-injection"][0] == "SKIP"
