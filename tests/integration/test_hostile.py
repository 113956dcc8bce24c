"""Hostile clients against one long-running mxringd: every attack gets the answer it should,
then a normal message still delivers, the server's RSS stays bounded, and at the end the spool
holds exactly the acknowledged messages, byte for byte, and nothing any attack sent.

The server stores with fsync into its own spool and has short timeouts, so slowloris and
half-open attacks end within seconds; it listens for plain SMTP, PROXY-protocol SMTP and
implicit TLS, with STARTTLS offered."""
import json
import os
import random
import smtplib
import socket
import ssl
import struct
import tempfile
import time

import pytest

from certificates import insecure_client_context, make_certificate
from conftest import Server, free_port, scraped, stop_and_check
from smtp_wire import (begin_data, connect, ehlo, read_replies, read_reply, send_binarymime,
                       until_eof)
from spool_cli import spool, stored_ids, without_trace_header

# The asan-ubsan run keeps freed memory in quarantine: RSS says nothing there.
SANITIZED = "ASAN_OPTIONS" in os.environ
# Headroom over the warmed-up RSS. Every attack together sends well over 100 MiB; a server
# that buffered any one of them whole (the 10 MiB line, the 60 MB chunk) would pass this.
RSS_HEADROOM_KIB = 16 * 1024
COMMAND_TIMEOUT = 3  # seconds; also bounds a PROXY header and each slowloris attack
BIG_CHUNK = 60_000_000  # a BDAT chunk over SIZE (52428800): read and thrown away


class Target:
    def __init__(self, workdir):
        cert, key = make_certificate(workdir, "mx", ["mx.test"], "ec")
        self.proxy_port, self.smtps_port = free_port(), free_port()
        self.metrics_port = free_port()
        self.spool = os.path.join(workdir, "spool")
        self.server = Server([
            "--listen", f"127.0.0.1:{self.proxy_port}:smtp+proxy", "--proxy-trusted",
            "127.0.0.1/32", "--listen", f"127.0.0.1:{self.smtps_port}:smtps",
            "--tls-cert", cert, "--tls-key", key, "--durability", "fsync", "--spool",
            self.spool, "--metrics", f"127.0.0.1:{self.metrics_port}",
            "--command-timeout", str(COMMAND_TIMEOUT), "--data-timeout", str(COMMAND_TIMEOUT),
            "--min-data-rate", "1024", "--min-rate-grace", "2",
            # One reactor: the warm-up below then touches every receive buffer there is, and
            # RSS growth after it can only be what an attack made the server keep.
            "--threads", "1"], workdir)
        self.host, self.port = self.server.host, self.server.port
        self.acknowledged = {}  # queue id -> the exact message sent
        self.attacks = 0
        self.rss_limit_kib = None

    def deliver(self, tag, recipients=("bob@localhost",)):
        """A normal message over smtplib; returns its queue id."""
        body = f"Subject: after {tag}\r\n\r\nstill here after {tag}\r\n".encode()
        with smtplib.SMTP(self.host, self.port, local_hostname="client.test", timeout=30) as c:
            c.ehlo()
            c.mail("alice@client.test")
            for rcpt in recipients:
                assert c.rcpt(rcpt)[0] == 250
            code, text = c.data(body)
        assert code == 250 and text.startswith(b"2.0.0 Ok: queued as "), (code, text)
        queue_id = text.split()[-1].decode()
        self.acknowledged[queue_id] = body
        return queue_id

    def rss_kib(self):
        return self.server.rss_kib()

    def open_connections(self):
        return scraped(self.metrics_port, "mxring_connections_open")


@pytest.fixture(scope="module")
def target():
    workdir = tempfile.mkdtemp(prefix="mxring-hostile-")
    t = Target(workdir)
    try:
        # Warm up: the first large transfers touch every receive buffer once and every
        # allocator arena; RSS is measured from there.
        with connect(t) as s:
            read_reply(s)
            ehlo(s, b"warm.test")
            s.sendall(b"MAIL FROM:<w@warm.test>\r\n"
                      b"RCPT TO:<bob@localhost>\r\n" + f"BDAT {BIG_CHUNK} LAST\r\n".encode())
            assert len(read_replies(s, 2)) == 2
            s.sendall(b"w" * BIG_CHUNK)
            assert read_reply(s) == \
                "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
        t.deliver("warm-up")
        t.rss_limit_kib = t.rss_kib() + RSS_HEADROOM_KIB
        yield t
    finally:  # also when the warm-up fails: no server is left running
        stop_and_check([t.server])


@pytest.fixture
def attack(target):
    """The target; afterwards a normal message delivers and RSS is within bounds."""
    yield target
    target.attacks += 1
    target.deliver(f"attack {target.attacks}")
    if not SANITIZED:
        assert target.rss_kib() <= target.rss_limit_kib


def exchange(target, payload, port=None, first_reply=True):
    """Sends `payload` on a new connection and returns everything until the server closes
    (the greeting left out)."""
    with connect(target, port=port, timeout=COMMAND_TIMEOUT + 10) as s:
        if first_reply:
            assert read_reply(s).startswith("220 ")
        s.sendall(payload)
        return until_eof(s)


@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r.\r\n",
                                      b"\r\n.\r"], ids=repr)
def test_smuggling_is_refused_and_nothing_smuggled_runs(attack, fake_end):
    """SMTP smuggling (CVE-2023-51764/51765/51766): an end of data that is not CRLF.CRLF."""
    with connect(attack) as s:
        read_reply(s)
        begin_data(s)
        s.sendall(b"Subject: x" + fake_end + b"MAIL FROM:<evil@attacker.test>\r\n"
                  b"RCPT TO:<victim@localhost>\r\nDATA\r\nforged\r\n.\r\n")
        assert read_reply(s) == "550 5.6.0 Message has a bare CR or LF; lines end with CRLF\r\n"
        s.sendall(b"QUIT\r\n")
        assert until_eof(s) == "221 2.0.0 Bye\r\n"  # nothing smuggled was answered


@pytest.mark.parametrize("fake_end", [b"\n.\n", b"\r.\r", b"\r.\r\n", b"\n.\r\n"], ids=repr)
def test_bdat_content_with_a_bare_line_end_is_refused(attack, fake_end):
    """BDAT cannot be ended early, but a message stored with "\\n.\\n" in it would be for
    the next reader that takes a bare LF for a line end: outside BINARYMIME it is refused
    as DATA's is, at the end of its chunk, and the chunk behind it is dropped (the last
    test finds neither in the spool)."""
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        content = (b"Subject: x" + fake_end + b"MAIL FROM:<evil@attacker.test>\r\n"
                   b"RCPT TO:<victim@localhost>\r\nDATA\r\nforged\r\n.\r\n")
        s.sendall(b"MAIL FROM:<a@client.test>\r\nRCPT TO:<bob@localhost>\r\n"
                  + f"BDAT {len(content)}\r\n".encode() + content + b"BDAT 5 LAST\r\nabc\r\n")
        assert read_replies(s, 4)[2:] == [
            "550 5.6.0 Message has a bare CR or LF; lines end with CRLF\r\n",
            "503 5.5.1 Need MAIL command\r\n"]
        s.sendall(b"QUIT\r\n")
        assert until_eof(s) == "221 2.0.0 Bye\r\n"


def test_binarymime_content_is_stored_as_sent(attack):
    """BODY=BINARYMIME (RFC 3030 §3) carries octets, not lines: bare CR, LF and NUL are kept."""
    content = b"Subject: bin\r\n\r\n\x00\n.\n\rQUIT\r\n\xff"
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        replies = send_binarymime(s, content)
        assert replies[2].startswith("250 2.0.0 Ok: queued as ")
        attack.acknowledged[replies[2].split()[-1]] = content


def test_commands_behind_a_refused_data_are_never_run(attack):
    """RFC 2920 §3.1: DATA ends a pipelined group. A client that sends its content at once
    and has DATA refused (no valid recipient) would have that content read as commands: a
    message to the victim under its own envelope. Like Postfix's
    smtpd_forbid_unauth_pipelining, mxringd answers 554 5.5.0 and hangs up; nothing is
    stored (the fixture checks the spool holds exactly what was acknowledged)."""
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"MAIL FROM:<a@client.test>\r\nRCPT TO:<someone@elsewhere.test>\r\nDATA\r\n"
                  b"RCPT TO:<victim@localhost>\r\nDATA\r\nSubject: injected\r\n\r\nx\r\n.\r\n")
        assert until_eof(s) == ("250 2.1.0 Ok\r\n550 5.7.1 Relay access denied\r\n"
                                "554 5.5.0 Error: SMTP protocol synchronization\r\n")


def start_tls(sock, pipelined=b""):
    """Greeting, EHLO, then STARTTLS with `pipelined` in the same segment, up to its 220."""
    read_reply(sock)
    ehlo(sock)
    sock.sendall(b"STARTTLS\r\n" + pipelined)
    assert read_reply(sock) == "220 2.0.0 Ready to start TLS\r\n"


def test_starttls_injection_is_not_answered(attack):
    """CVE-2011-0411: a command pipelined behind STARTTLS is discarded, not run in TLS."""
    with connect(attack) as s:
        start_tls(s, b"MAIL FROM:<evil@attacker.test>\r\n")
        with insecure_client_context().wrap_socket(s, server_hostname="mx.test") as tls:
            tls.sendall(b"RCPT TO:<victim@localhost>\r\n")
            assert read_reply(tls) == "503 5.5.1 Need MAIL command\r\n"


def test_ten_mebibytes_without_a_line_end(attack):
    """Never buffered: the line is skipped as it arrives, answered once it ends, and the
    session goes on."""
    before = attack.rss_kib()
    with connect(attack) as s:
        read_reply(s)
        s.sendall(b"MAIL FROM:<" + b"a" * (10 << 20) + b"\r\nNOOP\r\n")
        assert read_replies(s, 2) == ["500 5.5.2 Line too long\r\n", "250 2.0.0 Ok\r\n"]
        if not SANITIZED:
            assert attack.rss_kib() - before < 4 * 1024  # not a copy of the line


def test_a_line_that_never_ends_is_cut_at_the_command_timeout(attack):
    with connect(attack) as s:
        read_reply(s)
        s.sendall(b"EHLO " + b"b" * (1 << 20))
        assert until_eof(s) == "421 4.4.2 mx.test Error: timeout exceeded\r\n"


def test_command_lines_over_the_cap(attack):
    """RFC 5321 §4.5.3.1.4: 512 octets for a command line (plus room for ESMTP parameters)."""
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"MAIL FROM:<a@client.test> " + b"X-PARAM=" + b"y" * 2000 + b"\r\n"
                  b"RCPT TO:<" + b"r" * 4000 + b"@localhost>\r\n"
                  b"XYZZY " + b"z" * 600 + b"\r\nNOOP\r\n")  # too long whatever the verb
        assert read_replies(s, 4) == ["500 5.5.2 Line too long\r\n"] * 3 + ["250 2.0.0 Ok\r\n"]


def test_random_binary_garbage_ends_in_421_after_too_many_errors(attack):
    garbage = random.Random(10).randbytes(256 * 1024)
    replies = exchange(attack, garbage + b"\r\n" * 30).splitlines()
    assert replies[-1] == "421 4.7.0 mx.test Error: too many errors"
    assert all(r[:1] in ("5", "4") for r in replies)  # nothing in the garbage was accepted


def test_endless_noops_end_in_421_past_the_junk_limit(attack):
    """Postfix's smtpd_junk_command_limit: 100 NOOPs are free (each restarts the command
    timeout), then each is an error, and after 20 more the connection is closed."""
    codes = []
    with smtplib.SMTP(attack.host, attack.port, local_hostname="client.test", timeout=30) as c:
        c.ehlo()
        with pytest.raises(smtplib.SMTPServerDisconnected):
            for _ in range(200):
                codes.append(c.noop()[0])
    assert codes == [250] * 120 + [421]


def test_nul_bytes_in_commands_and_addresses(attack):
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"NO\0OP\r\nMAIL FROM:<a\0b@client.test>\r\nMAIL FROM:<a@client.test>\r\n"
                  b"RCPT TO:<bob\0@localhost>\r\nRSET\r\n")
        assert read_replies(s, 5) == [
            "500 5.5.1 Command unrecognized\r\n", "501 5.1.7 Bad sender address syntax\r\n",
            "250 2.1.0 Ok\r\n", "501 5.1.3 Bad recipient address syntax\r\n",
            "250 2.0.0 Ok\r\n"]


def test_thousands_of_recipients(attack):
    """RCPTMAX (LIMITS, RFC 9422) is 1000: the rest get 452 and the message goes to the
    first thousand."""
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"MAIL FROM:<many@client.test>\r\n")
        assert read_reply(s) == "250 2.1.0 Ok\r\n"
        s.sendall(b"".join(b"RCPT TO:<r%d@localhost>\r\n" % i for i in range(5000)))
        replies = read_replies(s, 5000)
        assert replies[:1000] == ["250 2.1.5 Ok\r\n"] * 1000
        assert set(replies[1000:]) == {"452 4.5.3 Too many recipients\r\n"}
        s.sendall(b"DATA\r\n")
        assert read_reply(s).startswith("354 ")
        body = b"Subject: to a thousand\r\n\r\nhello\r\n"
        s.sendall(body + b".\r\n")
        reply = read_reply(s)
        assert reply.startswith("250 2.0.0 Ok: queued as ")
        queue_id = reply.split()[-1]
        attack.acknowledged[queue_id] = body
    envelope = json.loads(spool(attack.spool, "show", queue_id).stdout)
    assert [r["address"] for r in envelope["recipients"]] == [f"r{i}@localhost"
                                                              for i in range(1000)]


def test_bdat_that_sends_less_than_it_says(attack):
    """The chunk's missing octets never come: cut at the data timeout, nothing stored."""
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"MAIL FROM:<liar@client.test>\r\n"
                  b"RCPT TO:<bob@localhost>\r\nBDAT 100000 LAST\r\n" + b"z" * 5000)
        replies = until_eof(s)
        assert replies.endswith("250 2.1.5 Ok\r\n421 4.4.2 mx.test Error: timeout exceeded\r\n")


def test_bdat_that_sends_more_than_it_says(attack):
    """Octets past the chunk are commands again (RFC 3030 §2): here, unknown ones. The message
    is exactly the declared octets."""
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"MAIL FROM:<a@client.test>\r\n"
                  b"RCPT TO:<bob@localhost>\r\nBDAT 12 LAST\r\nSubject: x\r\n"
                  b"MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@localhost>\r\n")
        replies = read_replies(s, 5)
        assert replies[2].startswith("250 2.0.0 Ok: queued as ")
        attack.acknowledged[replies[2].split()[-1]] = b"Subject: x\r\n"
        # The rest is a new transaction's commands, answered as such: nothing was smuggled
        # into the stored message.
        assert replies[3:] == ["250 2.1.0 Ok\r\n", "250 2.1.5 Ok\r\n"]
        s.sendall(b"RSET\r\n")
        assert read_reply(s) == "250 2.0.0 Ok\r\n"


@pytest.mark.parametrize("size", [b"99999999999999999999999", b"-1", b"0x10", b""])
def test_bdat_with_sizes_that_are_not_sizes(attack, size):
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"MAIL FROM:<a@client.test>\r\n"
                  b"RCPT TO:<bob@localhost>\r\nBDAT " + size + b" LAST\r\nNOOP\r\n")
        assert read_replies(s, 4)[2:] == ["501 5.5.4 Syntax: BDAT size [LAST]\r\n",
                                          "250 2.0.0 Ok\r\n"]


def test_bdat_over_the_size_limit_is_read_and_refused(attack):
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"MAIL FROM:<a@client.test>\r\n"
                  b"RCPT TO:<bob@localhost>\r\n" + f"BDAT {BIG_CHUNK} LAST\r\n".encode())
        assert len(read_replies(s, 2)) == 2
        s.sendall(b"q" * BIG_CHUNK + b"NOOP\r\n")
        assert read_replies(s, 2) == [
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n", "250 2.0.0 Ok\r\n"]


def v2_header(length, body):
    return b"\r\n\r\n\x00\r\nQUIT\n\x21\x11" + struct.pack(">H", length) + body


@pytest.mark.parametrize("header", [
    v2_header(200, b"\x7f\x00\x00\x01" * 3),  # says 200 octets, sends 12, then waits
    v2_header(4, b"\x7f\x00\x00\x01\x7f\x00\x00\x02\x00\x19\x00\x19EHLO x\r\n"),  # too short
    v2_header(0xffff, b"\x00" * 64),
    b"PROXY TCP4 192.0.2.1 127.0.0.1 99999 25\r\nEHLO x\r\n",
    b"PROXY TCP4 192.0.2.1 127.0.0.1 1000 25" + b" " * 200,  # no line end within 107 octets
], ids=["v2-says-more", "v2-says-less", "v2-says-65535", "v1-bad-port", "v1-no-line-end"])
def test_proxy_headers_with_lying_lengths_are_closed_without_a_word(attack, header):
    assert exchange(attack, header, port=attack.proxy_port, first_reply=False) == ""


def trickle(sock, octets):
    """Sends one octet a second until the server answers (or closes); returns the answer."""
    sock.settimeout(1.0)
    answer = b""
    for octet in octets:
        try:
            sock.sendall(bytes([octet]))
            answer += sock.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            break
        if answer.endswith(b"\r\n"):
            break
    return answer


def test_slowloris_in_commands(attack):
    """A byte a second never completes a command before the command timeout: the timeout
    runs from the last reply, not from the last byte."""
    with connect(attack) as s:
        read_reply(s)
        assert trickle(s, b"EHLO slowly.client.test\r\n") == \
            b"421 4.4.2 mx.test Error: timeout exceeded\r\n"


def test_slowloris_in_data(attack):
    """Under --min-data-rate once --min-rate-grace is over: cut, nothing stored."""
    with connect(attack) as s:
        read_reply(s)
        begin_data(s)
        assert trickle(s, b"x" * 30) == b"421 4.4.2 mx.test Error: timeout exceeded\r\n"


def test_slowloris_in_bdat_chunks(attack):
    """BDAT chunks sent just within the command timeout of each other, or empty ones, kept a
    transaction open for as long as the client liked: between chunks the session is taking
    commands, and a chunk was too short to trip the data rate. The rate now counts from the
    transaction's first chunk to its last, and an empty chunk that is not the last is junk."""
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"MAIL FROM:<slow@client.test>\r\nRCPT TO:<bob@localhost>\r\n")
        assert read_replies(s, 2) == ["250 2.1.0 Ok\r\n", "250 2.1.5 Ok\r\n"]
        answers = ""
        for _ in range(12):  # a chunk every 2 s (the command timeout is 3 s): 24 s at most
            s.sendall(b"BDAT 5\r\nslow.")
            answers += read_reply(s)
            if "421 " in answers:
                break
            time.sleep(2)
        assert answers.startswith("250 2.0.0 5 octets received\r\n" * 2), answers
        assert answers.endswith("421 4.4.2 mx.test Error: timeout exceeded\r\n"), answers
        assert until_eof(s) == ""
    with connect(attack) as s:  # the junk limit (100) and the error limit (20) after it
        read_reply(s)
        ehlo(s)
        s.sendall(b"MAIL FROM:<empty@client.test>\r\nRCPT TO:<bob@localhost>\r\n"
                  + b"BDAT 0\r\n" * 150)
        s.settimeout(60)  # replies past the soft error limit are held a second each
        replies = until_eof(s)
        assert replies.count("250 2.0.0 0 octets received\r\n") == 120, replies
        assert replies.endswith("421 4.7.0 mx.test Error: too many errors\r\n"), replies
    attack.deliver("BDAT slowloris")


def test_slowloris_in_a_refused_bdat_chunk(attack):
    """A chunk refused before it is read (here: no MAIL) is still read whole (RFC 3030 §2),
    at no less than the minimum data rate: trickled, it is cut like DATA."""
    with connect(attack) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"BDAT 100000\r\n")
        assert trickle(s, b"x" * 30) == b"421 4.4.2 mx.test Error: timeout exceeded\r\n"


def test_half_open_connections_are_timed_out_and_their_slots_freed(attack):
    """Hundreds of clients that connect and never speak, or stop mid-command, or close their
    sending side mid-DATA: each ends, and none holds a slot afterwards."""
    silent = [connect(attack, source=f"127.0.2.{1 + i % 250}") for i in range(500)]
    mid_command = connect(attack)
    read_reply(mid_command)
    mid_command.sendall(b"MAIL FROM:<half@client.test")
    mid_data = connect(attack)
    read_reply(mid_data)
    begin_data(mid_data)
    mid_data.sendall(b"Subject: never finished\r\n")
    mid_data.shutdown(socket.SHUT_WR)
    assert until_eof(mid_data) == ""  # the client's FIN mid-DATA: closed, nothing stored
    attack.deliver("half-open clients are waiting")  # they do not block anyone
    for s in silent:
        s.settimeout(COMMAND_TIMEOUT + 10)
        greeting_and_goodbye = until_eof(s)
        assert greeting_and_goodbye.endswith("421 4.4.2 mx.test Error: timeout exceeded\r\n")
        s.close()
    assert until_eof(mid_command).endswith("421 4.4.2 mx.test Error: timeout exceeded\r\n")
    for s in (mid_command, mid_data):
        s.close()
    assert attack.open_connections() == 0


def test_reset_mid_data(attack):
    for _ in range(20):
        s = connect(attack)
        read_reply(s)
        begin_data(s)
        s.sendall(b"Subject: reset\r\n\r\n" + b"r" * 100_000)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # an RST, not a FIN
    deadline = time.monotonic() + 10
    while attack.open_connections() != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert attack.open_connections() == 0


@pytest.mark.parametrize("garbage", [
    b"\x16\x03\x01\x00\x05hello, not a ClientHello" + bytes(range(256)) * 4,
    b"\x16\x03\x03\xff\xff" + b"\x01" * 100,  # a record longer than it will ever be
    b"EHLO plaintext.on.smtps\r\n",
    bytes(random.Random(11).randbytes(4096)),
], ids=["not-a-client-hello", "record-too-long", "plaintext", "random"])
def test_tls_handshake_garbage(attack, garbage):
    """On the implicit-TLS port and after STARTTLS: an alert at most, then the close."""
    assert "250" not in exchange(attack, garbage, port=attack.smtps_port, first_reply=False)
    with connect(attack) as s:
        start_tls(s)
        s.sendall(garbage)
        assert "\r\n" not in until_eof(s)


def test_a_real_tls_client_still_delivers_on_smtps(attack):
    context = insecure_client_context()
    with smtplib.SMTP_SSL(attack.host, attack.smtps_port, context=context, timeout=30) as c:
        assert c.ehlo()[0] == 250
        assert isinstance(c.sock, ssl.SSLSocket)


def test_zz_the_spool_holds_exactly_what_was_acknowledged(target):
    """Last (file order): stop cleanly, then the spool is exactly the acknowledged messages."""
    assert target.server.stop() == 0
    ids = stored_ids(target.spool)
    assert sorted(ids) == sorted(target.acknowledged)
    for queue_id, body in target.acknowledged.items():
        assert without_trace_header(spool(target.spool, "cat", queue_id).stdout) == body
    assert spool(target.spool, "verify").returncode == 0
