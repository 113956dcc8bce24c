"""Socket activation (sd_listen_fds(3)): mxringd serves the listening sockets a service manager
hands it. Driven by systemd's own `systemd-socket-activate`, and by a small manager here that
keeps one socket across a restart as systemd does with a .socket unit, so that a client that
connects while no mxringd runs waits in the backlog and is served by the next one. Clients:
Python smtplib."""
import os
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import (MXRINGD, SANITIZER_REPORTS, free_port, http_get, listening,
                      raise_file_limit)
from spool_cli import stored_records, without_trace_header

MESSAGE = b"Subject: held in the backlog\r\n\r\nserved by the next mxringd\r\n"


def wait_for(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


class Managed:
    """mxringd started as a service manager starts it: `sockets` at descriptors 3, 4, ...,
    $LISTEN_FDS their count and $LISTEN_PID the new process's own id."""

    def __init__(self, sockets, args, log_path):
        self.log_path = log_path
        count = len(sockets)

        def hand_over():
            raise_file_limit()
            # Above every descriptor the child may hold, then down to 3, 4, ...
            moved = [os.dup2(s.fileno(), 100 + i) for i, s in enumerate(sockets)]
            for i, fd in enumerate(moved):
                os.dup2(fd, 3 + i)
                os.close(fd)
            os.environ["LISTEN_PID"] = str(os.getpid())
            os.environ["LISTEN_FDS"] = str(count)

        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [MXRINGD, "--host-name", "mx.test", "--threads", "2", *args], stdout=log,
                stderr=subprocess.STDOUT, preexec_fn=hand_over,
                pass_fds=tuple(range(3, 3 + count)))

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_listening(self):
        wait_for(lambda: "listening on" in self.output() or self.process.poll() is not None,
                 "mxringd did not start")
        assert self.process.poll() is None, self.output()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=60)
        assert not any(marker in self.output() for marker in SANITIZER_REPORTS), self.output()
        return status


def listening_socket(address, port, family=socket.AF_INET, dual_stack=False):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual_stack else 1)
    s.bind((address, port))
    s.listen(64)
    return s


class AlreadyConnected(smtplib.SMTP):
    """smtplib over a connection made before the server was there to greet it."""

    def __init__(self, sock, **kwargs):
        self.waiting = sock
        super().__init__("127.0.0.1", sock.getpeername()[1], **kwargs)

    def _get_socket(self, host, port, timeout):
        return self.waiting


def test_systemd_socket_activate_hands_over_smtp_and_metrics_sockets(tmp_path):
    """systemd's own tool binds an SMTP and a metrics socket and starts mxringd on the first
    connection; a third listener mxringd binds itself. Had mxringd ignored the sockets it
    would not start: their addresses are taken (by the sockets it was given)."""
    smtp, metrics, own = free_port(), free_port(), free_port()
    log_path = tmp_path / "mxringd.log"
    with open(log_path, "wb") as log:
        activator = subprocess.Popen(
            ["systemd-socket-activate", "-l", f"127.0.0.1:{smtp}", "-l", f"127.0.0.1:{metrics}",
             MXRINGD, "--listen", f"127.0.0.1:{smtp}", "--listen", f"127.0.0.1:{own}",
             "--metrics", f"127.0.0.1:{metrics}", "--durability", "fsync", "--spool",
             str(tmp_path / "spool"), "--host-name", "mx.test", "--threads", "2",
             "--log-format", "json"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=raise_file_limit)
    try:
        wait_for(lambda: listening(smtp) and listening(metrics), "systemd-socket-activate")
        # This connection is what starts mxringd.
        with smtplib.SMTP("127.0.0.1", smtp, local_hostname="client.test", timeout=30) as c:
            c.sendmail("alice@client.test", ["postmaster@localhost"], MESSAGE)
        with smtplib.SMTP("127.0.0.1", own, local_hostname="client.test", timeout=30) as c:
            assert c.noop()[0] == 250
        assert http_get(metrics, "/readyz") == (200, "ready\n")
        said = (f"listening on 127.0.0.1:{smtp} (smtp, socket from the service manager), "
                f"127.0.0.1:{own} (smtp)")
        wait_for(lambda: said in log_path.read_text(errors="replace"), said)
    finally:
        activator.send_signal(signal.SIGTERM)
        assert activator.wait(timeout=60) == 0
    assert not any(marker in log_path.read_text() for marker in SANITIZER_REPORTS)
    records = stored_records(tmp_path / "spool")
    assert len(records) == 1
    assert without_trace_header(records[0][1]) == MESSAGE


def test_a_client_that_connects_during_a_restart_is_served_by_the_next_mxringd(tmp_path):
    """The manager keeps a dual-stack [::] socket while one mxringd drains and exits and the
    next starts: the client in between is neither refused nor lost, and IPv4 clients of the
    dual-stack socket are named by their IPv4 address."""
    port = free_port()
    held = listening_socket("::", port, socket.AF_INET6, dual_stack=True)
    spool = tmp_path / "spool"
    args = ["--listen", f"[::]:{port}", "--durability", "fsync", "--spool", str(spool)]
    log_path = str(tmp_path / "mxringd.log")
    try:
        first = Managed([held], args, log_path)
        first.wait_listening()
        with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30) as c:
            c.sendmail("first@client.test", ["postmaster@localhost"], b"Subject: 1\r\n\r\none\r\n")
        assert first.stop() == 0
        # Nobody serves the port now; the handshake still completes, into the backlog.
        waiting = socket.create_connection(("127.0.0.1", port), timeout=30)
        second = Managed([held], args, log_path)
        with AlreadyConnected(waiting, local_hostname="client.test", timeout=30) as c:
            c.sendmail("second@client.test", ["postmaster@localhost"], MESSAGE)
        assert second.stop() == 0
    finally:
        held.close()
    records = {envelope["mail_from"]: (envelope, message)
               for envelope, message in stored_records(spool)}
    assert set(records) == {"first@client.test", "second@client.test"}
    envelope, message = records["second@client.test"]
    assert without_trace_header(message) == MESSAGE
    assert envelope["client"]["address"] == "127.0.0.1"
    assert message.startswith(b"Received: from client.test ([127.0.0.1]")


@pytest.mark.parametrize("handed", ["unnamed", "not-listening"])
def test_a_socket_mxringd_cannot_serve_stops_it_at_start(tmp_path, handed):
    port, other = free_port(), free_port()
    if handed == "unnamed":
        given = listening_socket("127.0.0.1", port)
        expected = (f"the inherited socket 127.0.0.1:{port} matches no --listen or --metrics "
                    f"address; add --listen 127.0.0.1:{port}[:ROLE]")
    else:  # what a .socket unit with Accept=yes would hand over: not a listening socket
        given = socket.socket()
        given.bind(("127.0.0.1", port))
        expected = "inherited descriptor 3 is not a listening TCP socket"
    try:
        server = Managed([given], ["--listen", f"127.0.0.1:{other}"], str(tmp_path / "log"))
        assert server.process.wait(timeout=30) == 2
    finally:
        given.close()
    assert expected in server.output()
    assert not listening(other)
