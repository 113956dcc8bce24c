"""Starts real mxringd processes on free loopback ports for the integration tests.

The binary comes from $MXRINGD (ctest sets it). Each server logs to a file the test can read;
`stop()` sends SIGTERM and returns the exit status.
"""
import contextlib
import os
import resource
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

MXRINGD = os.environ.get("MXRINGD", os.path.join(os.path.dirname(__file__), "../../build/release/bin/mxringd"))


_handed_out = set()


def free_port():
    """A port nothing listens on, and never one this process handed out before: a server
    given the same port for two listeners must not be what a test sets up by accident."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def raise_file_limit(wanted=65536):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), max(hard, wanted)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def listening(port):
    """True once something listens on 127.0.0.1:port (from /proc: no connection made)."""
    with open("/proc/net/tcp") as table:
        for row in table.readlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                return True
    return False


@contextlib.contextmanager
def smtp_sink(backlog=16):
    """Postfix's smtp-sink (it stores nothing) on a free loopback port, until the block ends;
    yields the port."""
    port = free_port()
    sink = subprocess.Popen(["smtp-sink", "-u", "nobody", "-h", "sink.test", f"127.0.0.1:{port}",
                             str(backlog)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not listening(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield port
    finally:
        sink.kill()
        sink.wait()


class Server:
    def __init__(self, args, workdir, port=None):
        """`port`: the listener (on 127.0.0.1) and its durability are in the --config file
        the args name; otherwise mxringd listens on a free port and discards by default."""
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.log_path = os.path.join(workdir, f"mxringd-{self.port}.log")  # one per server
        self.log = open(self.log_path, "w+")
        defaults = {"--host-name": "mx.test", "--threads": "2"}
        command = [MXRINGD]
        if port is None:
            defaults["--durability"] = "discard"
            command += ["--listen", f"127.0.0.1:{self.port}"]
        for flag, value in defaults.items():
            if flag not in args:
                command += [flag, value]
        command += list(args)
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT,
                                        preexec_fn=raise_file_limit)
        if "--log-file" in args:  # the server's own log goes there, not to stdout
            self.log_path = args[list(args).index("--log-file") + 1]
        # "listening on" is an info line; a quieter server is seen listening in /proc instead.
        quiet = "--log-level" in args and args[list(args).index("--log-level") + 1] in (
            "warning", "error")
        deadline = time.monotonic() + 10
        while not (listening(self.port) if quiet else "listening on" in self.output()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()  # never left running behind a failed start
                self.process.wait()
                raise RuntimeError(f"mxringd did not start: {self.output()}")
            time.sleep(0.02)

    def output(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:  # a --log-file not created yet (or rotated away)
            return ""

    def wait_for_output(self, text, timeout=10):
        """True once `text` is in the server's log (False after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def signal(self, sig):
        self.process.send_signal(sig)

    def stop(self, timeout=60):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def rss_kib(self, field="VmRSS"):
        """The server's resident memory now (VmRSS) or at its peak (VmHWM), from /proc."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise AssertionError(f"no {field}")

    def messages_accepted(self):
        """Messages the server acknowledged, from its final log line (after stop())."""
        total = 0
        for line in self.output().splitlines():
            if "reactor stopped:" in line:
                total += int(line.split("messages=")[1].split()[0])
        return total


def http_get(port, path, timeout=5):
    """(status, body) of GET http://127.0.0.1:port/path, errors included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(page, name):
    """The value of series `name` (with its labels, if any) on a /metrics page."""
    for line in page.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise KeyError(name)


def content_memory_needed(max_message_size, max_recipients):
    """What --help says --max-content-memory must hold at least: one message of the largest
    size, 384 KiB beside it (trace header, a data slice), 4 KiB a recipient."""
    return max_message_size + (384 << 10) + max_recipients * (4 << 10)


def scraped(metrics_port, name):
    """metric() from a fresh scrape of mxringd's /metrics."""
    return metric(http_get(metrics_port, "/metrics")[1], name)


@pytest.fixture
def mxringd():
    """Factory: mxringd(*extra_flags) starts a server; all are stopped at the end.
    mxringd("--config", path, port=p): the file holds the listener on 127.0.0.1:p."""
    servers = []
    workdir = tempfile.mkdtemp(prefix="mxring-it-")
    raise_file_limit()

    def start(*args, port=None):
        server = Server(args, workdir, port)
        servers.append(server)
        return server

    yield start
    stop_and_check(servers)


def stop_and_check(servers):
    """Stops every server still running, cleanly, so a sanitizer build also checks for leaks
    at exit; any sanitizer report in a server's log fails the test that provoked it (make test
    runs the suites against an ASan+UBSan mxringd too)."""
    reports = []
    for server in servers:
        if server.process.poll() is None:
            try:
                server.stop(timeout=30)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
        output = server.output()
        if any(marker in output for marker in SANITIZER_REPORTS):
            reports.append(output)
    assert not reports, reports[0][-6000:]
