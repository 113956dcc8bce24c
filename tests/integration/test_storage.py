"""Durable storage through a running mxringd: what clients sent comes back from
`mxring spool` byte for byte with the right envelope; acknowledged messages survive kill -9;
a full disk answers 452 and recovers, and MAIL is refused with 452 before the disk (or its
inode table) fills; a stalled writer turns into 451 back-pressure."""
import hashlib
import json
import os
import random
import shutil
import signal
import smtplib
import socket
import subprocess
import threading
import time

import pytest

from conftest import MXRINGD, content_memory_needed, free_port, http_get, scraped
from spool_cli import (MXRING, assert_acknowledged_stored, spool, stored_ids,
                       without_trace_header)



def test_smtplib_message_reads_back_byte_identical(mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    body = ("Subject: round trip\r\nX-Long: " + "y" * 1500 + "\r\n\r\ncaf\u00e9\r\n"
            ".leading dot\r\n..two dots\r\n").encode()
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
        c.ehlo()
        c.mail("alice@client.test",
               ["BODY=8BITMIME", "SIZE=2000", "RET=HDRS", "ENVID=e+2B1", "SMTPUTF8"])
        c.rcpt("bob@localhost", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob+40localhost"])
        c.rcpt("carol@localhost")
        # RFC 6533: a "utf-8" original recipient is kept as sent (it was stored empty).
        c.rcpt("dave@localhost", ["ORCPT=utf-8;j\u00f6rg\\x{2B}1@client.test"])
        code, text = c.data(body)
        assert code == 250 and text.startswith(b"2.0.0 Ok: queued as ")
        queue_id = text.split()[-1].decode()
    assert server.stop() == 0
    stored = spool(tmp_path / "spool", "cat", queue_id).stdout
    assert without_trace_header(stored) == body
    envelope = json.loads(spool(tmp_path / "spool", "show", queue_id).stdout)
    assert envelope["mail_from"] == "alice@client.test"
    assert envelope["helo"] == "client.test"
    assert envelope["body"] == "8BITMIME" and envelope["ret"] == "HDRS"
    assert envelope["envid"] == "e+1" and envelope["declared_size"] == 2000
    assert envelope["smtputf8"]
    assert [r["address"] for r in envelope["recipients"]] == [
        "bob@localhost", "carol@localhost", "dave@localhost"]
    assert envelope["recipients"][0]["notify"] == ["SUCCESS", "FAILURE"]
    assert envelope["recipients"][0]["orcpt"] == "rfc822;bob@localhost"
    assert envelope["recipients"][2]["orcpt"] == "utf-8;j\u00f6rg\\x{2B}1@client.test"
    assert envelope["flags"]["eight_bit"] and envelope["flags"]["long_lines"]
    assert spool(tmp_path / "spool", "verify").returncode == 0
    # One writer's directory, or a directory that holds no spool, is said to be none, not
    # verified as "0 records, all CRCs good".
    for command in (["verify"], ["ls"], ["cat", queue_id]):
        writer = spool(tmp_path / "spool" / "0", *command)
        assert writer.returncode == 2 and b"give its parent" in writer.stderr, command
    (tmp_path / "empty").mkdir()
    empty = spool(tmp_path / "empty", "verify")
    assert empty.returncode == 2 and b"is not a spool" in empty.stderr and not empty.stdout


def test_maildir_sink_gets_the_exact_message(mxringd, tmp_path):
    maildir = tmp_path / "Maildir"
    server = mxringd("--durability", "fsync", "--maildir", str(maildir))
    body = b"Subject: to maildir\r\n\r\nline one\r\n.dot line\r\n"
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
        c.ehlo()
        c.mail("alice@client.test")
        c.rcpt("bob@localhost")
        code, _ = c.data(body)
        assert code == 250
    assert server.stop() == 0
    files = list((maildir / "new").iterdir())
    assert len(files) == 1 and not list((maildir / "tmp").iterdir())
    content = files[0].read_bytes()
    assert content.startswith(b"Return-Path: <alice@client.test>\r\nReceived: from client.test")
    assert without_trace_header(content.split(b"\r\n", 1)[1]) == body


def test_swaks_and_smtp_source_messages_are_all_stored(mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    swaks = subprocess.run(["swaks", "--server", f"{server.host}:{server.port}", "--to",
                            "bob@localhost", "--from", "a@client.test", "--pipeline"],
                           capture_output=True, text=True, timeout=60)
    assert swaks.returncode == 0, swaks.stdout
    source = subprocess.run(["smtp-source", "-s", "20", "-m", "500", "-l", "2048", "-f",
                             "a@client.test", "-t", "bob@localhost",
                             f"{server.host}:{server.port}"],
                            capture_output=True, text=True, timeout=120)
    assert source.returncode == 0 and source.stderr == ""
    assert server.stop() == 0
    assert len(stored_ids(tmp_path / "spool")) == 501
    assert spool(tmp_path / "spool", "verify").returncode == 0


class Sender(threading.Thread):
    """One connection sending messages until told to stop or the server dies; remembers the
    SHA-256 of every message the server acknowledged with 250, by queue id."""

    def __init__(self, server, index, acked, stop):
        super().__init__(daemon=True)
        self.server, self.index, self.acked, self.stop = server, index, acked, stop

    def run(self):
        try:
            with smtplib.SMTP(self.server.host, self.server.port, timeout=30,
                              local_hostname="client.test") as c:
                c.ehlo()
                n = 0
                while not self.stop.is_set() and n < 10_000:
                    n += 1
                    body = (f"Subject: {self.index}-{n}\r\n\r\n".encode()
                            + os.urandom(random.randint(10, 3000)).hex().encode() + b"\r\n")
                    c.mail("a@client.test")
                    c.rcpt("bob@localhost")
                    code, text = c.data(body)
                    if code == 250:
                        self.acked[text.split()[-1].decode()] = hashlib.sha256(body).hexdigest()
        except (OSError, smtplib.SMTPException):
            pass  # the server was killed under us


# `make test`: two kill points; `make soak` (MXRING_SOAK=1): twenty, spread over 0.2-4 s.
KILL_POINTS = ([0.2 + 0.2 * i for i in range(20)] if os.environ.get("MXRING_SOAK")
               else [0.3, 1.0])


def has_direct_io(directory):
    try:
        os.close(os.open(directory / "direct-probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT))
        return True
    except OSError:
        return False


# Both ways of writing; direct I/O with small segments, so rotations happen mid-burst too.
IO_MODES = {"buffered": [], "direct": ["--direct-io", "--segment-size", str(2 << 20)]}


@pytest.mark.parametrize("io", sorted(IO_MODES))
@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_acknowledged_messages_survive_kill_9(mxringd, tmp_path, kill_after, io):
    directory = tmp_path / "spool"
    if io == "direct" and not has_direct_io(tmp_path):
        pytest.skip(f"no O_DIRECT on the file system of {tmp_path} (tmpfs?)")
    server = mxringd("--durability", "fsync", "--spool", str(directory), *IO_MODES[io])
    acked, stop = {}, threading.Event()
    senders = [Sender(server, i, acked, stop) for i in range(50)]
    for s in senders:
        s.start()
    time.sleep(kill_after)
    server.process.send_signal(signal.SIGKILL)  # mid-burst
    server.process.wait()
    stop.set()
    for s in senders:
        s.join(timeout=30)
    assert len(acked) > 0
    # Restart on the same spool: recovery cuts any torn tail and goes on.
    again = mxringd("--durability", "fsync", "--spool", str(directory), *IO_MODES[io])
    assert again.stop() == 0
    verify = spool(directory, "verify")
    assert verify.returncode == 0, verify.stderr
    stored = assert_acknowledged_stored(directory, acked.items())
    for queue_id in random.sample(sorted(acked), min(5, len(acked))):  # the CLI agrees
        assert spool(directory, "cat", queue_id).stdout == stored[queue_id]
    print(f"kill -9 after {kill_after:.1f} s ({io}): {len(acked)} acknowledged, all present")


def run_measured(command):
    """Runs `command` to its end: (exit status, stdout, its peak resident memory in KiB)."""
    with open(os.devnull, "rb") as nothing, subprocess.Popen(
            command, stdin=nothing, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as child:
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        return child.returncode, out, usage.ru_maxrss


def test_a_segment_larger_than_memory_is_recovered_and_read_a_window_at_a_time(mxringd,
                                                                              tmp_path):
    """A segment is as large as --segment-size (up to 256 GiB) from the start when it is
    zero-filled ahead. Recovery after kill -9 and `mxring spool ls | cat | verify` read it a
    window at a time: reading it whole took its size in memory, and a restart in a container
    smaller than one segment was killed at every attempt."""
    directory = tmp_path / "spool"
    flags = ("--durability", "fsync", "--spool", str(directory), "--threads", "1")
    server = mxringd(*flags)
    acked = {}
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
        c.ehlo()
        for n in range(3):
            body = f"Subject: {n}\r\n\r\nmessage {n}\r\n".encode()
            c.mail("a@client.test")
            c.rcpt("b@localhost")
            code, text = c.data(body)
            assert code == 250
            acked[text.split()[-1].decode()] = body
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    segment = max((directory / "0").glob("*.seg"))
    tail = 2 << 30  # zeros to 2 GiB, as a segment of --segment-size 2147483648 prepared ahead
    os.truncate(segment, tail)  # sparse: no disk taken, the same octets to a reader
    limit_kib = 512 << 10
    for command in (["verify"], ["ls"], ["cat", next(iter(acked))]):
        status, out, peak = run_measured([MXRING, "spool", "--dir", str(directory), *command])
        assert status == 0, (command, out)
        assert peak < limit_kib, f"mxring spool {command[0]} took {peak} KiB"
    assert sorted(stored_ids(directory)) == sorted(acked)
    again = mxringd(*flags)
    assert again.rss_kib("VmHWM") < limit_kib
    assert segment.stat().st_size < 1 << 20  # recovery cut the zeros after the records
    with smtplib.SMTP(again.host, again.port, local_hostname="client.test") as c:
        c.ehlo()
        body = b"Subject: after\r\n\r\nafter the restart\r\n"
        c.mail("a@client.test")
        c.rcpt("b@localhost")
        code, text = c.data(body)
        assert code == 250
        acked[text.split()[-1].decode()] = body
    assert again.stop() == 0
    assert sorted(stored_ids(directory)) == sorted(acked)
    assert_cli_reads_back(directory, acked)


def test_a_segment_zero_filled_ahead_holds_at_most_1_gib(tmp_path):
    """Zeros cost as much to write as records, and mxringd listens once its first segment is
    prepared: a --segment-size of 4 GiB zero-filled whole took 4 GiB of writes before the
    first client was served (a minute for 16 GiB here). A prepared segment holds 1 GiB."""
    if shutil.disk_usage(tmp_path).free < 8 << 30:
        pytest.skip(f"less than 8 GiB free under {tmp_path}")
    directory, port = tmp_path / "spool", free_port()
    with open(tmp_path / "mxringd.log", "w") as log:
        server = subprocess.Popen(
            [MXRINGD, "--listen", f"127.0.0.1:{port}", "--spool", str(directory),
             "--threads", "1", "--segment-size", str(4 << 30), "--host-name", "mx.test"],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "listening on" not in (tmp_path / "mxringd.log").read_text():
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test") as c:
            c.sendmail("a@client.test", ["b@localhost"], b"Subject: s\r\n\r\nbody\r\n")
        assert [p.stat().st_size for p in (directory / "0").glob("*.seg")] == [1 << 30]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    assert len(stored_ids(directory)) == 1


def own_tmpfs(tmp_path, options):
    """A tmpfs of the test's own (skipped without root), unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)])


@pytest.fixture
def small_disk(tmp_path):
    """4 MiB."""
    yield from own_tmpfs(tmp_path, "size=4m")


@pytest.fixture
def few_inodes(tmp_path):
    """64 MiB but 300 inodes."""
    yield from own_tmpfs(tmp_path, "size=64m,nr_inodes=300")


def await_readyz(metrics_port, status, what):
    """Until /readyz answers `status`: the store is sampled once a second."""
    deadline = time.monotonic() + 20
    while http_get(metrics_port, "/readyz")[0] != status:
        assert time.monotonic() < deadline, f"/readyz never {what}"
        time.sleep(0.1)


def assert_cli_reads_back(directory, acked):
    """`mxring spool cat` returns every acknowledged message byte for byte, and `verify`
    passes."""
    for queue_id, body in acked.items():
        assert without_trace_header(spool(directory, "cat", queue_id).stdout) == body
    assert spool(directory, "verify").returncode == 0


def test_full_disk_answers_452_and_recovers(mxringd, small_disk):
    directory = small_disk / "spool"
    filler = small_disk / "filler"
    metrics_port = free_port()
    # No free-space floor: the writes themselves run out of room (ENOSPC).
    server = mxringd("--durability", "fsync", "--spool", str(directory), "--metrics",
                     f"127.0.0.1:{metrics_port}", "--min-free-space", "0")
    filler.write_bytes(b"\0" * (4 * 1024 * 1024 - 256 * 1024))  # leave ~256 KiB
    answers, acked = [], {}
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
        c.ehlo()
        for n in range(100):
            body = f"Subject: {n}\r\n\r\n".encode() + b"x" * 8000 + b"\r\n"
            c.mail("a@client.test")
            c.rcpt("bob@localhost")
            try:
                code, text = c.data(body)
            except smtplib.SMTPDataError as e:
                code, text = e.smtp_code, e.smtp_error
            answers.append(code)
            if code == 250:
                acked[text.split()[-1].decode()] = body
            else:
                assert (code, text) == (452, b"4.3.1 Insufficient system storage")
                c.rset()
        assert 452 in answers and 250 in answers
        # Orchestrators stop sending traffic to a node whose storage fails.
        assert http_get(metrics_port, "/readyz") == (503, "not ready\n")
        assert http_get(metrics_port, "/healthz")[0] == 200  # alive: do not restart it
        failed = sum(1 for a in answers if a == 452)
        assert f'mxring_messages_total{{result="storage_failed"}} {failed}' in \
            http_get(metrics_port, "/metrics")[1]
        filler.unlink()  # space comes back; the server goes on without a restart
        c.mail("a@client.test")
        c.rcpt("bob@localhost")
        code, text = c.data(b"Subject: after\r\n\r\nroom again\r\n")
        assert code == 250
        assert http_get(metrics_port, "/readyz") == (200, "ready\n")
    assert server.stop() == 0
    assert_cli_reads_back(directory, acked)


def test_mail_is_refused_452_below_the_free_space_floor(mxringd, small_disk):
    """RFC 1870 §6.1, Postfix's queue_minfree: while the spool's file system has less free than
    --min-free-space, or a MAIL's SIZE would take it below, MAIL gets 452 4.3.1 before the
    client sends anything, /readyz fails and the log says why; the server takes mail again,
    without a restart, once space returns. Nothing acknowledged is lost."""
    directory = small_disk / "spool"
    filler = small_disk / "filler"
    metrics_port = free_port()
    server = mxringd("--durability", "fsync", "--spool", str(directory), "--metrics",
                     f"127.0.0.1:{metrics_port}", "--min-free-space", str(1 << 20),
                     "--no-preallocate")
    assert scraped(metrics_port, "mxring_store_min_free_bytes") == 1 << 20
    assert 3 << 20 < scraped(metrics_port, "mxring_store_free_bytes") <= 4 << 20
    acked = {}

    def send(client, subject):
        body = f"Subject: {subject}\r\n\r\n".encode() + b"z" * 10000 + b"\r\n"
        code, text = client.data(body) if client.rcpt("bob@localhost")[0] == 250 else (0, b"")
        assert code == 250, (code, text)
        acked[text.split()[-1].decode()] = body

    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
        c.ehlo()
        assert c.mail("a@client.test", ["SIZE=10020"])[0] == 250
        send(c, "room")
        # ~3 MiB above the floor: a message declaring 3.5 MiB is refused at once.
        assert c.mail("a@client.test", [f"SIZE={7 << 19}"]) == (
            452, b"4.3.1 Insufficient system storage")
        assert c.rcpt("bob@localhost")[0] == 503  # no transaction was opened
        assert c.noop()[0] == 250

        filler.write_bytes(b"\0" * (3 * 1024 * 1024 + 512 * 1024))  # now below the floor
        await_readyz(metrics_port, 503, "noticed the floor")
        assert http_get(metrics_port, "/healthz")[0] == 200  # alive: do not restart it
        assert c.mail("a@client.test") == (452, b"4.3.1 Insufficient system storage")
        assert c.noop()[0] == 250
        assert server.wait_for_output("is below its free-space floor")

        filler.unlink()  # space comes back; the server goes on without a restart
        await_readyz(metrics_port, 200, "saw the space return")
        assert c.mail("a@client.test")[0] == 250
        send(c, "room again")
        assert server.wait_for_output("has room again")
    assert server.stop() == 0
    assert len(stored_ids(directory)) == 2
    assert_cli_reads_back(directory, acked)


def test_mail_is_refused_452_below_the_inode_floor(mxringd, few_inodes):
    """A maildir takes an inode a message, and a file system can run out of inodes with
    octets to spare: below --min-free-inodes, MAIL gets 452 4.3.1 and /readyz fails, as
    below the free-space floor, and mail is taken again once inodes are freed."""
    maildir = few_inodes / "Maildir"
    fillers = few_inodes / "fillers"
    metrics_port = free_port()
    server = mxringd("--durability", "fsync", "--maildir", str(maildir), "--metrics",
                     f"127.0.0.1:{metrics_port}", "--min-free-inodes", "100",
                     "--min-free-space", "0")  # the inodes alone
    assert scraped(metrics_port, "mxring_store_min_free_inodes") == 100
    assert 200 < scraped(metrics_port, "mxring_store_free_inodes") < 300
    bodies = []

    def send(client, subject):
        body = f"Subject: {subject}\r\n\r\nsmall\r\n".encode()
        assert client.mail("a@client.test")[0] == 250
        assert client.rcpt("bob@localhost")[0] == 250
        assert client.data(body)[0] == 250
        bodies.append(body)

    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
        c.ehlo()
        send(c, "inodes to spare")
        fillers.mkdir()
        n = 0
        while os.statvfs(few_inodes).f_favail >= 50:  # octets to spare, inodes not
            (fillers / str(n)).touch()
            n += 1
        await_readyz(metrics_port, 503, "noticed the inode floor")
        assert c.mail("a@client.test") == (452, b"4.3.1 Insufficient system storage")
        assert c.noop()[0] == 250
        assert server.wait_for_output("kept free by --min-free-inodes): MAIL is answered 452")

        for f in fillers.iterdir():
            f.unlink()
        await_readyz(metrics_port, 200, "saw the inodes return")
        send(c, "inodes again")
        assert server.wait_for_output("has room again")
    assert server.stop() == 0
    stored = [f.read_bytes().split(b"\r\n", 1)[1] for f in (maildir / "new").iterdir()]
    assert sorted(without_trace_header(m) for m in stored) == sorted(bodies)


def open_session(server):
    s = socket.create_connection((server.host, server.port), timeout=10)
    s.recv(4096)
    s.sendall(b"EHLO client.test\r\n")
    reply = b""
    while not reply.endswith(b"\r\n") or b"250 " not in reply:
        reply += s.recv(4096)
    return s


def start_transaction(sock):
    sock.sendall(b"MAIL FROM:<a@client.test>\r\nRCPT TO:<b@localhost>\r\nDATA\r\n")
    reply = b""
    while reply.count(b"\r\n") < 3:
        reply += sock.recv(4096)
    return reply.decode()


def stalled_writer_server(mxringd, tmp_path, ring):
    """mxringd storing under tmp_path/spool through a ring of `ring` messages, its writer
    stalled until the file returned beside the server is removed."""
    stall = tmp_path / "stall"
    stall.touch()
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"),
                     "--storage-ring", str(ring), "--threads", "1", "--fault-writer-stall",
                     str(stall))
    return server, stall


def messages_ended_together(server, count):
    """`count` clients reach DATA together, before anything is pending, then end their
    messages; their sockets, once the server has had time to take every end."""
    clients = [open_session(server) for _ in range(count)]
    for s in clients:
        assert start_transaction(s).endswith("354 End data with <CR><LF>.<CR><LF>\r\n")
    for n, s in enumerate(clients):
        s.sendall(f"Subject: {n}\r\n\r\nbody\r\n.\r\n".encode())
    time.sleep(0.5)
    return clients


def test_stalled_writer_means_451_not_memory(mxringd, tmp_path):
    """Storage half a ring behind: DATA gets 451 4.3.2. Three quarters: sessions between
    transactions are not read until it catches up. Nothing is lost either way."""
    server, stall = stalled_writer_server(mxringd, tmp_path, ring=8)
    # Six waiting on the stalled writer is three quarters of the ring.
    waiting = messages_ended_together(server, 6)
    idle = socket.create_connection((server.host, server.port), timeout=10)
    assert idle.recv(4096).startswith(b"220 ")  # greeted, then not read: no transaction yet
    idle.sendall(b"NOOP\r\n")
    idle.settimeout(1.0)
    with pytest.raises(socket.timeout):  # not read while the ring is nearly full
        idle.recv(4096)
    stall.unlink()  # the disk comes back: every waiting message is stored and answered
    for s in waiting:
        s.settimeout(10)
        assert s.recv(4096).decode().startswith("250 2.0.0 Ok: queued as ")
    idle.settimeout(10)
    assert idle.recv(4096) == b"250 2.0.0 Ok\r\n"  # and the held session is read again
    # Half a ring behind: DATA is refused before the content is sent.
    stall.touch()
    more = [open_session(server) for _ in range(4)]
    for s in more:
        assert start_transaction(s).endswith("354 End data with <CR><LF>.<CR><LF>\r\n")
        s.sendall(b"Subject: again\r\n\r\nbody\r\n.\r\n")
    time.sleep(0.5)
    late = open_session(server)
    assert start_transaction(late).endswith("451 4.3.2 System busy, try again later\r\n")
    stall.unlink()
    for s in more:
        s.settimeout(10)
        assert s.recv(4096).decode().startswith("250 2.0.0 Ok: queued as ")
    for s in waiting + more + [idle, late]:
        s.close()  # (an open transaction would hold the drain for its grace period)
    assert server.stop() == 0
    assert len(stored_ids(tmp_path / "spool")) == 10


def test_messages_received_whole_while_the_ring_is_full_wait_for_room(mxringd, tmp_path):
    """More clients past DATA at once than the ring holds (thousands of connections in DATA
    when the ring takes 4,096): each message is in memory already, so it waits for room and
    is stored, where it got 451 4.3.2 and had to be sent again."""
    server, stall = stalled_writer_server(mxringd, tmp_path, ring=4)
    clients = messages_ended_together(server, 12)
    for s in clients:  # nothing answered while the writer cannot write
        s.settimeout(0.05)
        with pytest.raises(socket.timeout):
            s.recv(4096)
    stall.unlink()
    for s in clients:
        s.settimeout(10)
        assert s.recv(4096).decode().startswith("250 2.0.0 Ok: queued as ")
        s.close()
    assert server.stop() == 0
    assert len(stored_ids(tmp_path / "spool")) == 12


def test_content_past_the_memory_bound_gets_452_and_nothing_is_lost(mxringd, tmp_path):
    """--max-content-memory bounds the message content held at once. While one client's
    unfinished message holds most of it, a message that finds no room gets 452 4.3.1: at MAIL
    when its SIZE says so (smtplib declares it; RFC 1870 §6.1), else at the end of its data,
    nothing of it kept; either connection stays usable. Once the first is stored, the retry is
    stored too, and the memory held goes back to nothing."""
    metrics_port = free_port()
    spool_dir = tmp_path / "spool"
    server = mxringd("--durability", "fsync", "--spool", str(spool_dir), "--threads", "1",
                     "--max-content-memory", "1200000", "--max-message-size", "800000",
                     "--max-recipients", "1",
                     "--metrics", f"127.0.0.1:{metrics_port}")
    assert scraped(metrics_port, "mxring_content_memory_limit_bytes") == 1200000
    line = b"y" * 1022 + b"\r\n"
    held = b"Subject: held\r\n\r\n" + line * 700  # ~700 KiB: a 1 MiB buffer of the 1.2 MB
    holder = open_session(server)
    assert start_transaction(holder).endswith("354 End data with <CR><LF>.<CR><LF>\r\n")
    holder.sendall(held)  # and not the end yet: the server holds it
    deadline = time.monotonic() + 20
    while scraped(metrics_port, "mxring_content_memory_bytes") < 1 << 20:
        assert time.monotonic() < deadline, "the held message never reached the server"
        time.sleep(0.05)

    retried = b"Subject: retried\r\n\r\n" + line * 300  # ~300 KiB: no room for it
    client = smtplib.SMTP(server.host, server.port, timeout=20)
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.sendmail("a@client.test", ["b@localhost"], retried)
    assert (refused.value.smtp_code, refused.value.smtp_error) == (
        452, b"4.3.1 Insufficient system storage")
    assert client.noop()[0] == 250
    undeclared = open_session(server)  # no SIZE: found out while the content arrives
    assert start_transaction(undeclared).endswith("354 End data with <CR><LF>.<CR><LF>\r\n")
    undeclared.sendall(retried + b".\r\nNOOP\r\n")
    undeclared.settimeout(20)
    answer = b""
    while answer.count(b"\r\n") < 2:
        answer += undeclared.recv(4096)
    assert answer == b"452 4.3.1 Insufficient system storage\r\n250 2.0.0 Ok\r\n"
    undeclared.close()

    holder.sendall(b".\r\n")
    holder.settimeout(20)
    assert holder.recv(4096).decode().startswith("250 2.0.0 Ok: queued as ")
    assert client.sendmail("a@client.test", ["b@localhost"], retried) == {}
    client.quit()
    holder.close()
    assert scraped(metrics_port, "mxring_content_memory_bytes") == 0
    assert server.stop() == 0
    stored = sorted(without_trace_header(spool(spool_dir, "cat", queue_id).stdout)
                    for queue_id in stored_ids(spool_dir))
    assert stored == sorted([held, retried])


def test_a_message_as_large_as_allowed_is_held_on_every_reactor(mxringd, tmp_path):
    """--max-content-memory is one budget for all reactors, and it must hold one message of
    --max-message-size however that message arrives (its buffer does not double past what
    the limit needs). Split between two reactors, this budget left each too little for a
    message near the limit: it was answered 452 on every retry, for as long as the client
    kept trying."""
    metrics_port = free_port()
    spool_dir = tmp_path / "spool"
    largest = 1_000_000
    needed = content_memory_needed(largest, 1)
    server = mxringd("--durability", "fsync", "--spool", str(spool_dir), "--threads", "2",
                     "--max-message-size", str(largest), "--max-recipients", "1",
                     "--max-content-memory", str(needed),
                     "--metrics", f"127.0.0.1:{metrics_port}")
    assert scraped(metrics_port, "mxring_content_memory_limit_bytes") == needed
    line = b"z" * 998 + b"\r\n"
    sent = []
    for i in range(4):  # over connections the kernel spreads across both reactors
        message = f"Subject: largest {i}\r\n\r\n".encode()
        message += line * ((largest - len(message)) // len(line))
        sent.append(message)
        with smtplib.SMTP(server.host, server.port, timeout=30) as client:  # declares SIZE
            assert client.sendmail("a@client.test", ["b@localhost"], message) == {}
        undeclared = open_session(server)  # no SIZE: the buffer grows as octets arrive
        assert start_transaction(undeclared).endswith("354 End data with <CR><LF>.<CR><LF>\r\n")
        undeclared.sendall(message + b".\r\n")
        assert undeclared.recv(4096).startswith(b"250 2.0.0 Ok: queued as ")
        undeclared.close()
        sent.append(message)
    assert scraped(metrics_port, "mxring_content_memory_bytes") == 0
    assert server.stop() == 0
    stored = sorted(without_trace_header(spool(spool_dir, "cat", queue_id).stdout)
                    for queue_id in stored_ids(spool_dir))
    assert stored == sorted(sent)


def test_recipients_past_the_memory_bound_get_452_and_go_in_another_transaction(mxringd,
                                                                              tmp_path):
    """Recipients are held in memory with the content, within --max-content-memory (1,000
    with long ORCPTs take 1-2 MB a transaction; 50,000 connections would take 50-100 GB). While
    other clients' messages hold most of it, the recipients there is no room for get
    452 4.5.3 (RFC 5321 §4.5.3.1.10), and smtplib, as any client, sends the message to the
    rest in another transaction once there is room: every recipient gets the message."""
    metrics_port = free_port()
    spool_dir = tmp_path / "spool"
    needed = content_memory_needed(1_000_000, 1000)
    server = mxringd("--durability", "fsync", "--spool", str(spool_dir), "--threads", "1",
                     "--max-message-size", "1000000", "--max-content-memory", str(needed),
                     "--metrics", f"127.0.0.1:{metrics_port}")
    line = b"y" * 1022 + b"\r\n"
    held = b"Subject: held\r\n\r\n" + line * 900  # no SIZE: a 1 MiB buffer each
    holders = [open_session(server) for _ in range(5)]
    for holder in holders:
        assert start_transaction(holder).endswith("354 End data with <CR><LF>.<CR><LF>\r\n")
        holder.sendall(held)
    deadline = time.monotonic() + 20
    while scraped(metrics_port, "mxring_content_memory_bytes") < 5 << 20:
        assert time.monotonic() < deadline, "the held messages never reached the server"
        time.sleep(0.05)

    recipients = [f"r{i}@localhost" for i in range(1000)]
    orcpt = ["ORCPT=rfc822;" + "o" * 900 + "@elsewhere.test"]
    message = b"Subject: many recipients\r\n\r\nto all of them\r\n"
    with smtplib.SMTP(server.host, server.port, timeout=30) as client:
        refused = client.sendmail("a@client.test", recipients, message, rcpt_options=orcpt)
        assert 0 < len(refused) < 1000
        assert set(refused.values()) == {(452, b"4.5.3 Too many recipients")}
        for holder in holders:
            holder.sendall(b".\r\n")
            holder.settimeout(20)
            assert holder.recv(4096).startswith(b"250 2.0.0 Ok: queued as ")
            holder.close()
        assert client.sendmail("a@client.test", sorted(refused), message,
                               rcpt_options=orcpt) == {}
    assert scraped(metrics_port, "mxring_content_memory_bytes") == 0
    assert server.stop() == 0
    delivered = []
    for queue_id in stored_ids(spool_dir):
        envelope = json.loads(spool(spool_dir, "show", queue_id).stdout)
        if len(envelope["recipients"]) > 1 or envelope["recipients"][0]["address"] != \
                "b@localhost":
            delivered += [r["address"] for r in envelope["recipients"]]
    assert sorted(delivered) == sorted(recipients)


def test_content_memory_that_cannot_hold_one_message_is_refused_at_start():
    """A --max-content-memory smaller than one message of --max-message-size and
    --max-recipients needs would answer such a message 452 every time it is sent: mxringd
    says so and does not start."""
    needed = content_memory_needed(1_000_000, 10)
    checked = subprocess.run([MXRINGD, "--max-message-size", "1000000", "--max-recipients", "10",
                              "--max-content-memory", str(needed - 1), "--check-config"],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode != 0
    assert (f"must hold one message of --max-message-size and --max-recipients: at least "
            f"{needed}" in checked.stdout + checked.stderr)
    too_large = subprocess.run([MXRINGD, "--max-message-size", str(1 << 40), "--check-config"],
                               capture_output=True, text=True, timeout=30)
    assert too_large.returncode != 0 and "at most 256 GiB" in too_large.stdout + too_large.stderr


def memory_cgroup(tmp_path, limit):
    """A fresh memory control group limited to `limit` octets (cgroup v1 or v2), or None
    where this machine does not let the test make one."""
    name = f"mxring-test-{os.getpid()}-{tmp_path.name}"
    for parent, limit_file in (("/sys/fs/cgroup/memory", "memory.limit_in_bytes"),
                               ("/sys/fs/cgroup", "memory.max")):
        group = os.path.join(parent, name)
        try:
            os.mkdir(group)
        except OSError:
            continue
        try:
            with open(os.path.join(group, limit_file), "w") as f:
                f.write(str(limit))
            return group
        except OSError:
            os.rmdir(group)
    return None


def join_cgroup(group):
    """Moves the calling process into `group` ("0": the writer itself, cgroups(7))."""
    with open(os.path.join(group, "cgroup.procs"), "w") as procs:
        procs.write("0")


def test_default_content_memory_follows_the_control_groups_limit(tmp_path):
    """In a container, or a unit with MemoryMax=, the machine's memory is not what mxringd
    may use: the default --max-content-memory is a quarter of the group's limit, so a flood
    of large messages meets 452, not the OOM killer."""
    limit = 1 << 30
    group = memory_cgroup(tmp_path, limit)
    if group is None:
        pytest.skip("no memory control group can be made here (needs root and cgroupfs)")
    metrics_port, port = free_port(), free_port()
    try:
        with open(tmp_path / "mxringd.log", "w") as log:
            server = subprocess.Popen(
                [MXRINGD, "--listen", f"127.0.0.1:{port}", "--durability", "discard",
                 "--threads", "2", "--metrics", f"127.0.0.1:{metrics_port}"],
                stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=lambda: join_cgroup(group))
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    held_limit = scraped(metrics_port, "mxring_content_memory_limit_bytes")
                    break
                except OSError:
                    assert server.poll() is None and time.monotonic() < deadline
                    time.sleep(0.05)
            assert held_limit == limit // 4
        finally:
            server.terminate()
            server.wait(timeout=60)
    finally:
        os.rmdir(group)


def test_durability_per_listener_from_the_config_file(tmp_path):
    """[[listener]] tables give each listener its own durability: a sink beside fsync."""
    from conftest import free_port
    sink_port, store_port = free_port(), free_port()
    config = tmp_path / "mxringd.toml"
    config.write_text(f'''domain = ["localhost"]
spool = "{tmp_path / 'spool'}"
host_name = "mx.test"

[[listener]]
address = "127.0.0.1:{sink_port}"
durability = "discard"

[[listener]]
address = "127.0.0.1:{store_port}"
''')
    log = open(tmp_path / "log", "w+")
    server = subprocess.Popen([MXRINGD, "--config", str(config), "--threads", "1"],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while "listening on" not in open(tmp_path / "log").read():
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        replies = {}
        for port in (sink_port, store_port):
            with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test") as c:
                c.ehlo()
                c.mail("a@client.test")
                c.rcpt("b@localhost")
                replies[port] = c.data(b"Subject: per listener\r\n\r\nhi\r\n")
        assert replies[sink_port][1].endswith(b"(sink mode)")
        assert replies[store_port][1].startswith(b"2.0.0 Ok: queued as ")
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    assert stored_ids(tmp_path / "spool") == [replies[store_port][1].split()[-1].decode()]
