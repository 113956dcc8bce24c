"""Running as a service: started as root with --user, mxringd serves as that user (seen in
/proc/<pid>/status) and keeps storing across rotation in the spool it handed over; it speaks
sd_notify to a NOTIFY_SOCKET (READY, watchdog pings, RELOADING, STOPPING); with --chroot it is
confined to its spool and still stores, rotates, speaks TLS and notifies; it refuses a
connection cap its file-descriptor limit cannot hold; systemd accepts the unit file."""
import os
import pathlib
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import MXRINGD, free_port
from spool_cli import spool

UNIT = os.path.join(os.path.dirname(__file__), "../../tools/mxringd/mxringd.service")
SOCKET_UNIT = os.path.join(os.path.dirname(__file__), "../../tools/mxringd/mxringd.socket")


def proc_ids(pid):
    ids = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                ids[key] = value.split()
    return ids


def start(args, **kwargs):
    port = free_port()
    process = subprocess.Popen([MXRINGD, "--listen", f"127.0.0.1:{port}", "--threads", "1",
                                *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, **kwargs)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(process.stdout.read())
            time.sleep(0.05)


@pytest.fixture
def world_reachable_directory():
    """A directory the service user can reach. Not under pytest's base temporary directory:
    pytest keeps that 0700 (and re-locks it when another suite starts)."""
    directory = pathlib.Path(tempfile.mkdtemp(prefix="mxring-service-", dir="/tmp"))
    os.chmod(directory, 0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_root_drops_to_the_service_user_for_good(tmp_path, world_reachable_directory):
    nobody = pwd.getpwnam("nobody")
    # The spool must be reachable by the service user: mxringd checks, and refuses otherwise.
    hidden = tmp_path / "hidden"
    hidden.mkdir(mode=0o700)
    result = subprocess.run([MXRINGD, "--listen", f"127.0.0.1:{free_port()}", "--user", "nobody",
                             "--spool", str(hidden / "spool")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "user nobody cannot use" in result.stdout + result.stderr
    directory = world_reachable_directory / "spool"
    process, port = start(["--user", "nobody", "--durability", "fsync", "--spool",
                           str(directory), "--segment-size", "4096"])
    try:
        # Connections wait in the backlog until root is gone: a greeting proves the drop.
        smtplib.SMTP("127.0.0.1", port).quit()
        ids = proc_ids(process.pid)
        assert ids["Uid"] == [str(nobody.pw_uid)] * 4  # real, effective, saved, filesystem
        assert ids["Gid"] == [str(nobody.pw_gid)] * 4
        assert ids["Groups"] == [str(nobody.pw_gid)]
        with smtplib.SMTP("127.0.0.1", port) as c:
            for i in range(10):  # several rotations, each creating a file as nobody
                c.sendmail("a@client.test", ["b@localhost"],
                           b"Subject: %d\r\n\r\n" % i + b"x" * 1500 + b"\r\n")
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert "serving as user nobody" in output
    files = [os.path.join(root, name) for root, _, names in os.walk(directory) for name in names]
    assert len(files) > 4
    assert all(os.stat(f).st_uid == nobody.pw_uid for f in files)
    assert b"10 records" in spool(directory, "verify").stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
def test_chroot_confines_the_server_to_its_spool(tmp_path, world_reachable_directory):
    from certificates import insecure_client_context, make_certificate
    cert, key = make_certificate(str(tmp_path), "mx", ["mx.test"], "ec")
    directory = world_reachable_directory / "spool"
    notify = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify)
    listener.settimeout(15)
    process, port = start(["--user", "nobody", "--chroot", "--durability", "fsync", "--spool",
                           str(directory), "--segment-size", "4096", "--tls-cert", cert,
                           "--tls-key", key],
                          # LeakSanitizer (in an ASan build) reads /proc, which the chroot hides.
                          env=dict(os.environ, NOTIFY_SOCKET=notify, WATCHDOG_USEC="1000000",
                                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                                   ":detect_leaks=0"))
    try:
        assert listener.recv(4096).decode().startswith("READY=1")
        assert os.readlink(f"/proc/{process.pid}/root") == str(directory)
        assert proc_ids(process.pid)["Uid"] == [str(pwd.getpwnam("nobody").pw_uid)] * 4
        with smtplib.SMTP("127.0.0.1", port) as c:
            c.starttls(context=insecure_client_context())  # wolfSSL's randomness, confined
            for i in range(6):  # rotations: new segments created inside the chroot
                c.sendmail("a@client.test", ["b@localhost"],
                           b"Subject: %d\r\n\r\n" % i + b"x" * 1500 + b"\r\n")
        # Watchdog pings still reach systemd's socket, whose path the chroot hides.
        assert listener.recv(4096).decode() == "WATCHDOG=1"
        process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
        listener.close()
    assert process.returncode == 0, output
    assert "(--chroot)" in output and "not reloading under --chroot" in output
    assert b"6 records" in spool(directory, "verify").stdout


def test_chroot_needs_a_user_and_a_local_store():
    for args, message in ((["--chroot"], "only with --user"),
                          (["--chroot", "--user", "nobody", "--durability", "kafka",
                            "--kafka-brokers", "127.0.0.1:9"], "not with --maildir or kafka")):
        result = subprocess.run([MXRINGD, "--listen", f"127.0.0.1:{free_port()}", *args],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode != 0 and message in result.stderr, result.stderr


def test_an_unknown_or_root_service_user_is_refused():
    for args, message in ((["--user", "no-such-user-here"], "no such user"),
                          (["--user", "root"], "is root"),
                          (["--group", "nogroup"], "only with --user")):
        result = subprocess.run([MXRINGD, "--listen", f"127.0.0.1:{free_port()}", *args],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode != 0 and message in result.stderr, result.stderr


def test_sd_notify_ready_watchdog_reload_and_stopping(tmp_path):
    path = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(15)
    environment = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    process, _ = start(["--durability", "discard"], env=environment)
    try:
        def next_message():
            return listener.recv(4096).decode()

        ready = next_message()
        assert ready.startswith("READY=1\nSTATUS=listening on 127.0.0.1:")
        # Pinged at half the interval while the reactors turn (idle: once a second).
        pings = 0
        deadline = time.monotonic() + 10
        while pings < 3 and time.monotonic() < deadline:
            pings += next_message() == "WATCHDOG=1"
        assert pings == 3
        process.send_signal(signal.SIGHUP)
        seen = []
        while "READY=1\nSTATUS=reloaded" not in seen:
            seen.append(next_message())
        assert "RELOADING=1" in seen
        assert seen.index("RELOADING=1") < seen.index("READY=1\nSTATUS=reloaded")
        process.send_signal(signal.SIGTERM)
        message = next_message()
        while message == "WATCHDOG=1":
            message = next_message()
        assert message == "STOPPING=1\nSTATUS=draining"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
        listener.close()
    assert process.returncode == 0


def test_a_connection_cap_beyond_the_file_limit_is_refused_clearly():
    # Beyond what even root may raise the limit to (fs.nr_open).
    with open("/proc/sys/fs/nr_open") as f:
        too_many = int(f.read()) + 10_000
    result = subprocess.run([MXRINGD, "--listen", f"127.0.0.1:{free_port()}",
                             "--max-connections", str(too_many)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"--max-connections {too_many} needs" in result.stderr
    assert "RLIMIT_NOFILE" in result.stderr


def test_the_default_connection_cap_fits_a_small_file_limit():
    command = ["prlimit", "--nofile=3000:3000", MXRINGD, "--listen",
               f"127.0.0.1:{free_port()}", "--durability", "discard", "--threads", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    output = ""
    while "listening on" not in output and process.poll() is None:
        output += process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    output += process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    raised = "serving at most" not in output  # root with CAP_SYS_RESOURCE may raise it instead
    assert raised or "holds 1976 connections, not the default 50000" in output


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_accepts_the_unit_files(tmp_path):
    unit = open(UNIT).read().replace("/usr/local/bin/mxringd", os.path.abspath(MXRINGD))
    (tmp_path / "mxringd.service").write_text(unit)
    (tmp_path / "mxringd.socket").write_text(open(SOCKET_UNIT).read())
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "mxringd.socket"),
                             str(tmp_path / "mxringd.service")],
                            capture_output=True, text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if "mxringd.s" in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr
    assert "Type=notify" in unit and "NoNewPrivileges=yes" in unit
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" in unit
