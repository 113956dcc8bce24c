"""`mxring bench`, the load generator, against real servers: mxringd and Postfix's smtp-sink.
What it says was acknowledged is what the spool holds, byte for byte (--ack-log); it
dot-stuffs, speaks STARTTLS, implicit TLS, AUTH and BDAT, keeps an open-loop rate, and
reports refusals as errors by kind, and a server that stops answering does not hold the run."""
import json
import os
import re
import signal
import smtplib
import socketserver
import subprocess
import time

import pytest

from certificates import make_certificate
from conftest import MXRINGD, free_port, smtp_sink
from smtp_wire import store_binarymime, threaded_server
from spool_cli import (assert_acknowledged_stored, spool, stored_ids, stored_records,
                       without_trace_header)
from spool_records import read_spool

MXRING = os.path.join(os.path.dirname(MXRINGD), "mxring")


def bench(*args, timeout=120):
    result = subprocess.run([MXRING, "bench", "--json", *args], capture_output=True, text=True,
                            timeout=timeout)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_every_acknowledged_message_is_in_the_spool_as_sent(mxringd, tmp_path):
    messages = tmp_path / "messages"
    messages.mkdir()
    (messages / "a.eml").write_bytes(b"Subject: dots\n\n.leading dot\n..two dots\n.\nend\n")
    (messages / "b.eml").write_bytes(b"Subject: crlf\r\n\r\nalready CRLF\r\n" + b"y" * 5000 + b"\r\n")
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    code, report = bench("--target", f"127.0.0.1:{server.port}", "--connections", "8",
                         "--count", "400", "--messages-from", str(messages),
                         "--ack-log", str(tmp_path / "acks"))
    assert code == 0 and report["errors"] == 0, report
    assert report["messages"] == 400
    assert report["replies"]["354"] == 400
    server.stop()
    acks = [line.split() for line in (tmp_path / "acks").read_text().splitlines()]
    assert len(acks) == 400
    stored = assert_acknowledged_stored(tmp_path / "spool", acks)
    one = without_trace_header(spool(tmp_path / "spool", "cat", acks[0][0]).stdout)
    assert one.startswith(b"X-Mxring-Bench: ")
    assert b"\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n" in stored[acks[0][0]] or \
        b"already CRLF" in stored[acks[0][0]]


def test_smtp_sink_is_driven_with_pipelining_and_new_connections(mxringd, tmp_path):
    with smtp_sink(256) as port:
        code, report = bench("--target", f"127.0.0.1:{port}", "--connections", "20",
                             "--count", "2000", "--size", "1k,10k", "--rcpts", "3")
        assert code == 0 and report["errors"] == 0, report
        assert report["messages"] == 2000
        assert report["replies"]["250"] == 2000 * 5 + 20  # MAIL, 3 RCPT, end of data; EHLO
        for phase in ("connect_banner", "ehlo", "mail", "rcpt", "data", "end_of_data",
                      "transaction"):
            latency = report["latency_us"][phase]
            assert latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
        code, report = bench("--target", f"127.0.0.1:{port}", "--connections", "10",
                             "--count", "300", "--messages-per-connection", "1", "--no-pipeline")
        assert code == 0 and report["errors"] == 0, report
        assert report["connections_opened"] >= 300
        assert report["replies"]["221"] == report["connections_opened"]


def test_a_negative_count_or_an_endless_duration_is_refused():
    # strtoull would take "-1" for 2^64 - 1: a load that never stops by count.
    for flag in ("--count", "--messages-per-connection"):
        result = subprocess.run([MXRING, "bench", "--target", "127.0.0.1:9", flag, "-1"],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode != 0, flag
        assert "expected a whole number, got -1" in result.stdout + result.stderr, flag
    # Nor a run that would never stop by itself, or one of no length.
    for flag, value in (("--duration", "inf"), ("--duration", "nan"), ("--duration", "-1"),
                        ("--warmup", "nan"), ("--timeout", "nan")):
        result = subprocess.run([MXRING, "bench", "--target", "127.0.0.1:9", "--count", "1",
                                 flag, value], capture_output=True, text=True, timeout=30)
        assert result.returncode != 0, (flag, value)
        assert "a number of seconds" in result.stdout + result.stderr, (flag, value)


def test_refusals_are_errors_by_kind_and_the_exit_status_says_so(mxringd):
    server = mxringd("--domain", "accepted.test")
    code, report = bench("--target", f"127.0.0.1:{server.port}", "--connections", "2",
                         "--count", "10", "--to", "someone@elsewhere.test")
    assert code == 1
    assert report["messages"] == 0
    assert report["error_kinds"]["RCPT 550"] == 10
    assert report["error_kinds"]["DATA 554"] == 10
    assert any("Relay access denied" in e for e in report["error_examples"])
    server.stop()


def test_tls_auth_and_bdat(mxringd, tmp_path):
    cert, key = make_certificate(str(tmp_path), "mx", ["mx.test"])
    users = tmp_path / "users"
    users.write_text("alice:" + subprocess.run(["openssl", "passwd", "-6", "wonderland"],
                                               capture_output=True, text=True).stdout)
    submission, smtps = free_port(), free_port()
    server = mxringd("--tls-cert", cert, "--tls-key", key, "--auth-users", str(users),
                     "--listen", f"127.0.0.1:{submission}:submission",
                     "--listen", f"127.0.0.1:{smtps}:smtps")
    code, report = bench("--target", f"127.0.0.1:{server.port}", "--connections", "4",
                         "--count", "200", "--starttls", "--bdat")
    assert code == 0 and report["errors"] == 0, report
    assert report["latency_us"]["tls_handshake"]["count"] == 4
    assert "354" not in report["replies"]  # BDAT: no DATA
    code, report = bench("--target", f"127.0.0.1:{submission}", "--connections", "4",
                         "--count", "100", "--starttls", "--auth", "alice:wonderland",
                         "--to", "friend@elsewhere.test")
    assert code == 0 and report["errors"] == 0, report
    assert report["replies"]["235"] == 4
    code, report = bench("--target", f"127.0.0.1:{smtps}", "--connections", "4", "--count", "100",
                         "--tls", "--auth", "alice:wonderland", "--to", "friend@elsewhere.test")
    assert code == 0 and report["errors"] == 0, report
    code, report = bench("--target", f"127.0.0.1:{smtps}", "--connections", "1", "--count", "5",
                         "--tls", "--auth", "alice:wrong")
    assert code == 1 and report["error_kinds"].get("AUTH 535", 0) >= 1
    server.stop()
    assert server.messages_accepted() == 400


def test_open_loop_rate_never_exceeds_its_schedule(mxringd):
    server = mxringd()
    code, report = bench("--target", f"127.0.0.1:{server.port}", "--connections", "4",
                         "--duration", "2", "--rate", "100")
    assert code == 0 and report["errors"] == 0, report
    # A slow machine may send fewer; the schedule never allows more (200 + the start).
    assert 0 < report["messages"] <= 201
    server.stop()


@pytest.mark.parametrize("bad", [["--count", "0"], ["--size", "12"], ["--target", "nowhere"],
                                 ["--target", "localhost:25"], ["--target", "[mx.test]:25"],
                                 ["--target", "10.1.2:25"]])
def test_bad_options_are_refused(bad):
    args = ["--target", "127.0.0.1:1", "--count", "1"]
    result = subprocess.run([MXRING, "bench", *args, *bad], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode != 0
    assert result.stdout == ""  # refused before any connection, not a run of failed connects
    if "--target" in bad and ":" in bad[1]:
        assert "names are not looked up" in result.stderr


def test_nothing_listening_ends_the_run_after_three_tries_a_connection():
    """A wrong port, or a server not yet started: the run ends with the reason, instead of
    retrying for the thousand failures a server that refuses mid-run gets."""
    code, report = bench("--target", f"127.0.0.1:{free_port()}", "--connections", "20",
                         "--count", "1000")
    assert code == 1
    assert report["messages"] == 0
    # Three rounds of 20; connects still in flight when the 60th failed may add their own.
    assert 3 * 20 <= report["errors"] < 4 * 20
    assert report["error_kinds"] == {"connect": report["errors"]}, report


def test_more_connections_than_the_file_limit_holds_end_by_themselves(mxringd):
    """--connections past RLIMIT_NOFILE: the run went round its reconnect list for ever once
    socket() failed (EMFILE), deaf even to Ctrl-C. It is refused at start, saying what to
    raise; where the limit could be raised (root with CAP_SYS_RESOURCE), it runs and ends."""
    server = mxringd("--max-connections-per-ip", "0")
    result = subprocess.run(["prlimit", "--nofile=500:500", MXRING, "bench", "--target",
                             f"127.0.0.1:{server.port}", "--connections", "1000",
                             "--duration", "1", "--json"],
                            capture_output=True, text=True, timeout=60)
    if result.returncode == 2:
        assert ("--connections 1000 needs 1064 file descriptors, but the hard limit "
                "(RLIMIT_NOFILE) is 500") in result.stderr
    else:
        assert json.loads(result.stdout)["connections_opened"] >= 1000, result.stderr


def test_starttls_a_server_does_not_offer_ends_the_run_at_once(mxringd):
    """--starttls against a server without TLS: no later connection will find it offered, so
    the run ends with the reason instead of reconnecting for a thousand failures."""
    server = mxringd()
    code, report = bench("--target", f"127.0.0.1:{server.port}", "--connections", "4",
                         "--count", "20", "--starttls")
    assert code == 1
    assert report["messages"] == 0
    assert 1 <= report["errors"] <= 4  # the connections open when the first one found out
    assert report["error_kinds"] == {"STARTTLS not offered": report["errors"]}, report
    assert len(report["error_examples"]) == 1, report  # one text, not one copy a failure
    assert "lists no STARTTLS" in report["error_examples"][0]


def test_messages_over_the_advertised_size_are_not_sent(mxringd):
    server = mxringd("--max-message-size", "5000")
    code, report = bench("--target", f"127.0.0.1:{server.port}", "--connections", "2",
                         "--count", "10", "--size", "10k")
    assert code == 1
    assert report["error_kinds"]["over SIZE"] >= 1
    assert "354" not in report["replies"]  # nothing was offered to the server
    server.stop()
    assert server.messages_accepted() == 0


def test_messages_from_an_mbox_and_from_a_spool_are_sent_as_they_are(mxringd, tmp_path):
    mbox = tmp_path / "box.mbox"
    mbox.write_bytes(b"From a@b Sat Jan  1 00:00:00 2026\nSubject: one\n\n.dot first\n"
                     b"From c@d Sat Jan  1 00:00:01 2026\nSubject: two\n\nsecond\n")
    first = mxringd("--durability", "fsync", "--spool", str(tmp_path / "first"))
    code, report = bench("--target", f"127.0.0.1:{first.port}", "--connections", "2",
                         "--count", "20", "--messages-from", str(mbox))
    assert code == 0 and report["messages"] == 20, report
    first.stop()
    stored = read_spool(tmp_path / "first")
    bodies = {without_trace_header(m).split(b"\r\n", 1)[1] for m in stored.values()}
    assert bodies == {b"Subject: one\r\n\r\n.dot first\r\n", b"Subject: two\r\n\r\nsecond\r\n"}
    # What the first server stored becomes the load for a second one.
    second = mxringd("--durability", "fsync", "--spool", str(tmp_path / "second"))
    code, report = bench("--target", f"127.0.0.1:{second.port}", "--connections", "2",
                         "--count", "10", "--messages-from", f"spool:{tmp_path / 'first'}")
    assert code == 0 and report["messages"] == 10, report
    second.stop()
    again = read_spool(tmp_path / "second")
    assert len(again) == 10
    # Each resent message carries the first server's Received field after the bench header.
    assert all(without_trace_header(m).split(b"\r\n", 1)[1].startswith(b"Received: from ")
               for m in again.values())


def test_binary_and_8bit_messages_from_a_spool_go_with_their_body_type(mxringd, tmp_path):
    first = mxringd("--durability", "fsync", "--spool", str(tmp_path / "first"))
    store_binarymime(first)
    with smtplib.SMTP(first.host, first.port) as client:
        client.sendmail("a@client.test", ["b@localhost"], b"Subject: 8bit\r\n\r\n\xc3\xa9t\xc3\xa9\r\n",
                        ["BODY=8BITMIME"])
        client.sendmail("a@client.test", ["b@localhost"], b"Subject: 7bit\r\n\r\nplain\r\n")
    first.stop()
    second = mxringd("--durability", "fsync", "--spool", str(tmp_path / "second"))
    code, report = bench("--target", f"127.0.0.1:{second.port}", "--connections", "3",
                         "--count", "60", "--messages-from", f"spool:{tmp_path / 'first'}",
                         "--ack-log", str(tmp_path / "acks"))
    assert code == 0 and report["errors"] == 0, report
    second.stop()
    acks = [line.split() for line in (tmp_path / "acks").read_text().splitlines()]
    assert len(acks) == 60
    assert_acknowledged_stored(tmp_path / "second", acks)  # binary content unstuffed, intact
    bodies = {}
    for envelope, message in stored_records(tmp_path / "second"):
        subject = re.search(rb"\r\nSubject: (\w+)\r\n", message).group(1)
        bodies.setdefault(subject, set()).add(envelope["body"])
    assert bodies == {b"binary": {"BINARYMIME"}, b"8bit": {"8BITMIME"}, b"7bit": {None}}
    # Postfix's smtp-sink offers neither CHUNKING nor BINARYMIME: the binary message is not
    # sent, and the run says why.
    with smtp_sink() as port:
        code, report = bench("--target", f"127.0.0.1:{port}", "--connections", "1",
                             "--count", "60", "--messages-from", f"spool:{tmp_path / 'first'}")
    assert code == 1
    assert report["error_kinds"] == {"needs BINARYMIME": 1}, report


def test_targets_round_robin_sources_spread_and_the_warmup_is_not_counted(mxringd, tmp_path):
    one = mxringd("--durability", "fsync", "--spool", str(tmp_path / "one"))
    two = mxringd()
    code, report = bench("--target", f"127.0.0.1:{one.port}", "--target",
                         f"127.0.0.1:{two.port}", "--connections", "4", "--warmup", "0.5",
                         "--duration", "0.5", "--spread-sources",
                         "--ack-log", str(tmp_path / "acks"))
    assert code == 0 and report["errors"] == 0, report
    one.stop()
    two.stop()
    acknowledged = len((tmp_path / "acks").read_text().splitlines())
    assert one.messages_accepted() > 0 and two.messages_accepted() > 0
    assert one.messages_accepted() + two.messages_accepted() == acknowledged
    assert report["messages"] < acknowledged  # the warm-up's messages are not in the report
    for phase in ("mail", "rcpt", "data", "end_of_data", "transaction"):  # nor their latencies
        assert report["latency_us"][phase]["count"] == report["messages"], phase
    ids = stored_ids(tmp_path / "one")
    sample = ids[::max(1, len(ids) // 40)] + ids[-10:]  # across the run, not one connection's burst
    clients = {json.loads(spool(tmp_path / "one", "show", queue_id).stdout)["client"]["address"]
               for queue_id in sample}
    assert clients == {"127.0.0.1", "127.0.0.3"}  # connections 0 and 2 went to this target


def wait_for_acknowledgements(acks, load, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    while not (acks.exists() and acks.stat().st_size > 0):
        assert load.poll() is None and time.monotonic() < deadline, "no message acknowledged"
        time.sleep(0.05)


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_ends_cleanly_with_the_report_of_what_it_measured(
        mxringd, tmp_path, signal_number):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    acks = tmp_path / "acks"
    load = subprocess.Popen([MXRING, "bench", "--json", "--target", f"127.0.0.1:{server.port}",
                             "--connections", "8", "--duration", "600", "--ack-log", str(acks)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_acknowledgements(acks, load)
    load.send_signal(signal_number)
    out, err = load.communicate(timeout=120)
    assert load.returncode == 0, err
    report = json.loads(out)
    assert report["interrupted"] is True and report["errors"] == 0, report
    # Messages in flight were answered, then every connection said QUIT: nothing cut off.
    assert report["replies"]["221"] == report["connections_opened"]
    acknowledged = [line.split() for line in acks.read_text().splitlines()]
    assert report["messages"] == len(acknowledged) > 0
    assert 0 < report["elapsed_s"] < 600
    server.stop()
    assert len(assert_acknowledged_stored(tmp_path / "spool", acknowledged)) == len(acknowledged)


def test_a_run_interrupted_in_its_warmup_reports_nothing_measured(mxringd, tmp_path):
    server = mxringd()
    acks = tmp_path / "acks"
    load = subprocess.Popen([MXRING, "bench", "--json", "--target", f"127.0.0.1:{server.port}",
                             "--connections", "4", "--warmup", "600", "--duration", "1",
                             "--ack-log", str(acks)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_acknowledgements(acks, load)
    load.send_signal(signal.SIGINT)
    out, err = load.communicate(timeout=120)
    assert load.returncode == 0, err
    report = json.loads(out)
    assert report["interrupted"] is True and report["errors"] == 0, report
    assert report["messages"] == 0 and report["elapsed_s"] == 0 and report["msgs_per_s"] == 0
    assert report["client_cpu_s"] == 0
    assert "end_of_data" not in report["latency_us"]
    assert report["replies"]["250"] > 0  # the warm-up's messages went through all the same


def test_sender_and_recipient_patterns_name_the_message_connection_and_recipient(
        mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    code, report = bench("--target", f"127.0.0.1:{server.port}", "--connections", "3",
                         "--count", "30", "--rcpts", "2", "--from", "s{n}.{c}@client.test",
                         "--to", "r{r}-{n}x{c}{r}@localhost", "--no-pipeline")
    assert code == 0 and report["errors"] == 0, report
    server.stop()
    seen = set()
    for envelope, message in stored_records(tmp_path / "spool"):
        number = int(without_trace_header(message).split(b"\r\n")[0].split(b": ")[1])
        sender = envelope["mail_from"]
        assert sender.startswith(f"s{number}.") and sender.endswith("@client.test"), sender
        connection = sender[len(f"s{number}."):-len("@client.test")]
        assert connection in {"0", "1", "2"}, sender
        assert [r["address"] for r in envelope["recipients"]] == [
            f"r{r}-{number}x{connection}{r}@localhost" for r in range(2)]
        seen.add(number)
    assert seen == set(range(30))


def test_the_servers_mailmax_is_honoured_by_reconnecting(mxringd):
    server = mxringd("--max-messages-per-connection", "7")  # advertised as LIMITS MAILMAX=7
    code, report = bench("--target", f"127.0.0.1:{server.port}", "--connections", "2",
                         "--count", "50")
    assert code == 0 and report["errors"] == 0, report
    assert report["messages"] == 50
    assert report["connections_opened"] >= 8  # 50 messages, at most 7 a connection
    server.stop()


def scripted(banner, answers, commands, close_after_quit=True):
    """A handler for threaded_server that answers by a script: `answers` maps a command's
    first word to its reply, or to None for silence; "." is the reply to a message's content.
    It records every command it reads in `commands`, and closes after QUIT unless told not
    to. A banner of None: silence from the start."""

    class Scripted(socketserver.StreamRequestHandler):
        def handle(self):
            if banner is None:
                return self.request.recv(1)  # wait for the client to give up
            self.wfile.write(banner)
            for line in self.rfile:
                command = line.decode().rstrip("\r\n")
                commands.append(command)
                reply = answers.get(command.split(" ")[0].upper(), b"503 5.5.1 no\r\n")
                if reply is None:
                    return self.request.recv(1)
                self.wfile.write(reply)
                if command.upper() == "DATA" and reply.startswith(b"354"):
                    for content in self.rfile:
                        if content == b".\r\n":
                            self.wfile.write(answers["."])
                            break
                if command.upper() == "QUIT":
                    return None if close_after_quit else self.request.recv(1)

    return Scripted


def test_a_server_that_stops_answering_fails_its_connections_and_the_run_still_ends():
    # A handshake lost in a full accept queue leaves the client waiting for a banner that
    # never comes; a server can also stop answering mid-session. Neither may hold the run.
    mute_at_mail = scripted(b"220 mute.test\r\n",
                            {"EHLO": b"250-mute.test\r\n250 PIPELINING\r\n", "MAIL": None}, [])
    with threaded_server(scripted(None, {}, [])) as silent, \
            threaded_server(mute_at_mail) as mute:
        started = time.monotonic()
        code, report = bench("--target", f"127.0.0.1:{silent}", "--target",
                             f"127.0.0.1:{mute}", "--connections", "4",
                             "--duration", "1", "--timeout", "1", timeout=60)
        assert time.monotonic() - started < 30
        assert code == 1
        assert report["messages"] == 0
        assert report["error_kinds"]["timeout"] >= 4, report
        examples = " ".join(report["error_examples"])
        assert "nothing from the server for 1 s, waiting for connect_banner" in examples
        assert "waiting for mail" in examples


def test_one_command_at_a_time_a_refused_mail_is_reset_not_followed_by_rcpt_and_data():
    commands = []
    full = scripted(b"220 full.test\r\n", {
        "EHLO": b"250-full.test\r\n250 SIZE 1000000\r\n",  # no PIPELINING
        "MAIL": b"452 4.5.3 Too many messages\r\n",
        "RSET": b"250 2.0.0 Ok\r\n",
        "QUIT": b"221 2.0.0 Bye\r\n"}, commands)
    with threaded_server(full) as port:
        code, report = bench("--target", f"127.0.0.1:{port}", "--connections", "1",
                             "--count", "5", timeout=60)
    assert code == 1
    assert report["error_kinds"] == {"MAIL 452": 5}, report
    words = [command.split(" ")[0] for command in commands]
    assert words == ["EHLO"] + ["MAIL", "RSET"] * 5 + ["QUIT"], commands


def test_a_server_that_never_closes_after_quit_does_not_hold_the_run():
    commands = []
    open_after_quit = scripted(b"220 open.test\r\n", {
        "EHLO": b"250 open.test\r\n", "MAIL": b"250 2.1.0 Ok\r\n", "RCPT": b"250 2.1.5 Ok\r\n",
        "DATA": b"354 go on\r\n", ".": b"250 2.0.0 Ok: queued as A1\r\n",
        "QUIT": b"221 2.0.0 Bye\r\n"}, commands, close_after_quit=False)
    with threaded_server(open_after_quit) as port:
        code, report = bench("--target", f"127.0.0.1:{port}", "--connections", "1",
                             "--count", "3", "--timeout", "1", timeout=60)
    # Every message was acknowledged and QUIT answered: the late close is no error.
    assert code == 0 and report["errors"] == 0, report
    assert report["messages"] == 3
    assert report["replies"]["221"] == 1
    assert commands[-1] == "QUIT"
