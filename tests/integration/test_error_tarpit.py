"""The error tarpit (Postfix's smtpd_soft_error_limit and smtpd_error_sleep_time) on a running
mxringd: once a client's errors since its last stored message pass --soft-error-limit, each
reply leaves --error-sleep later, however many the client pipelines, until a stored message
forgives the errors. Clients: Python smtplib (probing for recipients the way a harvester does)
and a raw socket that pipelines its probes.

Only lower bounds are asserted on time: the server holds each reply at least that long, and a
slow machine can only make it longer."""
import smtplib
import socket
import time

from conftest import free_port, scraped
from smtp_wire import ehlo, read_replies, read_reply
from spool_cli import stored_records, without_trace_header

MESSAGE = b"Subject: delivered after probing\r\n\r\nthe tarpit slows, it does not refuse\r\n"


def timed(call):
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


def test_each_reply_past_the_soft_error_limit_waits_the_error_sleep(mxringd, tmp_path):
    users = tmp_path / "users"
    users.write_text("alice\n")
    metrics = free_port()
    server = mxringd("--soft-error-limit", "2", "--error-sleep", "1", "--users", str(users),
                     "--metrics", f"127.0.0.1:{metrics}", "--durability", "fsync",
                     "--spool", str(tmp_path / "spool"))
    delayed = "mxring_replies_delayed_total"
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=60) as c:
        c.ehlo()
        c.mail("probe@client.test")
        # Two unknown recipients: errors 1 and 2, answered at once (not asserted: timing).
        assert c.rcpt("nobody1@localhost")[0] == 550
        assert c.rcpt("nobody2@localhost")[0] == 550
        assert scraped(metrics, delayed) == 0
        # Past the limit every reply is held a second, the good ones too.
        for rcpt, code in (("nobody3@localhost", 550), ("nobody4@localhost", 550),
                           ("alice@localhost", 250)):
            elapsed, reply = timed(lambda: c.rcpt(rcpt))
            assert reply[0] == code and elapsed >= 1.0, (rcpt, reply, elapsed)
        # DATA's 354 is held too; the 250 for the stored message is not: storing forgives.
        elapsed, (code, _) = timed(lambda: c.data(MESSAGE))
        assert code == 250 and elapsed >= 1.0
        assert scraped(metrics, delayed) == 4
        # Forgiven: a new transaction's first error is below the limit again.
        c.mail("probe@client.test")
        assert c.rcpt("nobody5@localhost")[0] == 550
        assert scraped(metrics, delayed) == 4

    # Pipelining does not buy speed: five probes in one send, the last three past the limit,
    # and the whole batch of answers leaves three seconds later.
    with socket.create_connection((server.host, server.port), timeout=60) as s:
        read_reply(s)
        ehlo(s)
        s.sendall(b"MAIL FROM:<probe@client.test>\r\n")
        assert read_reply(s).startswith("250")
        probes = b"".join(b"RCPT TO:<harvest%d@localhost>\r\n" % i for i in range(5))
        elapsed, replies = timed(lambda: (s.sendall(probes), read_replies(s, 5))[1])
        assert [r[:3] for r in replies] == ["550"] * 5
        assert elapsed >= 3.0, elapsed
        s.sendall(b"QUIT\r\n")
        assert read_reply(s).startswith("221")
    assert scraped(metrics, delayed) == 4 + 3 + 1  # and the 221, past the limit too
    assert server.stop() == 0
    [(envelope, stored)] = stored_records(tmp_path / "spool")
    assert envelope["recipients"][0]["address"] == "alice@localhost"
    assert without_trace_header(stored) == MESSAGE


def test_error_sleep_zero_turns_the_tarpit_off(mxringd, tmp_path):
    metrics = free_port()
    server = mxringd("--soft-error-limit", "1", "--error-sleep", "0",
                     "--metrics", f"127.0.0.1:{metrics}")
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=30) as c:
        for _ in range(5):
            assert c.docmd("FOO")[0] == 500
    assert scraped(metrics, "mxring_replies_delayed_total") == 0
