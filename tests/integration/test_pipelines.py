"""Downstream pipelines from a running mxringd's spool: `mxring spool export` in every
format read back by Python's own mailbox/email/json modules byte for byte, `tail` with a
cursor killed at random points (at least once, no gaps, across rotation), `replay` into
another server, and retention that never deletes what a registered cursor has not read."""
import base64
import email
import email.policy
import json
import mailbox
import os
import random
import re
import signal
import smtplib
import subprocess
import time

from conftest import free_port, smtp_sink
from smtp_wire import store_binarymime
from spool_cli import MXRING, spool, stored_ids, stored_records, without_trace_header

# Messages chosen to break naive exporters: mbox "From " lines, dots, UTF-8, invalid UTF-8,
# a line over 998 octets, JSON metacharacters, no final line end.
MESSAGES = [
    b"Subject: plain\r\n\r\nhello\r\n",
    b"Subject: mbox traps\r\n\r\nFrom the start\r\n>From quoted\r\n>>From twice\r\nFrom\r\n",
    b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\n",
    "Subject: caf\u00e9 \u2603\r\n\r\nna\u00efve \U0001F600\r\n".encode(),
    b"Subject: binary\r\n\r\n\xff\xfe\x80 not utf-8\r\n",
    b"Subject: json\r\n\r\n\"quoted\" back\\slash \t tab \x01 control\r\n",
    b"Subject: long\r\n\r\n" + b"x" * 3000 + b"\r\n",
    b"Subject: no final line end\r\n\r\nlast",
]


def send(server, messages, sender="alice@client.test", rcpts=("bob@localhost",)):
    """Sends each message on one connection; returns the queue ids from the 250 replies."""
    ids = []
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
        c.ehlo()
        for m in messages:
            assert c.mail(sender, ["BODY=8BITMIME"])[0] == 250
            for r in rcpts:
                c.rcpt(r)
            code, text = c.data(m)
            assert code == 250, text
            ids.append(text.split()[-1].decode())
    return ids


def mxring_spool(directory, *args, timeout=60):
    return subprocess.run([MXRING, "spool", "--dir", str(directory), *args], capture_output=True,
                          timeout=timeout)


def stored_messages(directory):
    return {envelope["queue_id"]: message for envelope, message in stored_records(directory)}


def mboxrd_unquoted(message):
    return re.sub(rb"(?m)^>(>*From )", rb"\1", message)


def test_every_export_format_reads_back_byte_for_byte(mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    ids = send(server, MESSAGES)
    assert server.stop() == 0
    stored = stored_messages(tmp_path / "spool")
    assert sorted(stored) == sorted(ids)

    # JSONL: one object a line with the envelope `show` prints and the message.
    result = mxring_spool(tmp_path / "spool", "export", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(ids)
    for line in lines:
        record = json.loads(line)
        assert record["schema"] == "mxring.message.v1"
        if "message" in record:
            message = record["message"].encode("utf-8")
        else:
            message = base64.b64decode(record["message_base64"], validate=True)
        assert message == stored[record["queue_id"]]
        shown = json.loads(spool(tmp_path / "spool", "show", record["queue_id"]).stdout)
        for key in ("mail_from", "recipients", "client", "helo", "received_at", "tls", "body"):
            assert record[key] == shown[key]
    # Valid UTF-8 travels as text, anything else as base64.
    by_id = {json.loads(line)["queue_id"]: json.loads(line) for line in lines}
    assert "message" in by_id[ids[3]] and "message_base64" in by_id[ids[4]]

    # mbox (mboxrd): Python's mailbox finds every message; unquoting gives the stored bytes.
    result = mxring_spool(tmp_path / "spool", "export", "--format", "mbox", "--out",
                          str(tmp_path / "all.mbox"))
    assert result.returncode == 0, result.stderr
    box = mailbox.mbox(str(tmp_path / "all.mbox"))
    exported = [mboxrd_unquoted(box.get_bytes(key)) for key in box.keys()]
    assert sorted(exported) == sorted(stored.values())
    assert all(box.get_message(k).get_from().startswith("alice@client.test ") for k in box.keys())

    # maildir: Python's Maildir reads each file in new/.
    result = mxring_spool(tmp_path / "spool", "export", "--format", "maildir", "--out",
                          str(tmp_path / "maildir"))
    assert result.returncode == 0, result.stderr
    md = mailbox.Maildir(str(tmp_path / "maildir"), factory=None, create=False)
    assert sorted(md.get_bytes(key) for key in md.keys()) == sorted(stored.values())
    assert os.listdir(tmp_path / "maildir" / "tmp") == []

    # eml: one file per queue id; the email package parses each.
    result = mxring_spool(tmp_path / "spool", "export", "--format", "eml", "--out",
                          str(tmp_path / "eml"))
    assert result.returncode == 0, result.stderr
    for queue_id, message in stored.items():
        data = (tmp_path / "eml" / f"{queue_id}.eml").read_bytes()
        assert data == message
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert parsed["Received"].startswith("from client.test")
        assert parsed["Subject"] is not None


def test_export_selects_by_time_and_by_id(mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    early = send(server, MESSAGES[:3])
    time.sleep(1.1)
    boundary = time.time()
    time.sleep(0.1)
    late = send(server, MESSAGES[3:5])
    server.stop()

    def exported(*selection):
        result = mxring_spool(tmp_path / "spool", "export", *selection)
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["queue_id"] for line in result.stdout.splitlines()]

    assert exported("--since", f"{boundary:.6f}") == late
    assert exported("--until", f"{boundary:.6f}") == early
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(boundary)) + \
        f".{int(boundary % 1 * 1e6):06d}Z"
    assert exported("--since", iso) == late
    # Two connections may have had two writers: each writer's records come in order.
    assert sorted(exported("--id", early[1], "--id", late[0])) == sorted([early[1], late[0]])
    assert mxring_spool(tmp_path / "spool", "export", "--since", "yesterday").returncode == 2


def stop_following_at(follow, path, lines, seconds=30):
    """Lets `mxring spool tail --follow` run until `path` has `lines` lines (or `seconds`
    have passed), then stops it with SIGTERM, which must end it cleanly."""
    deadline = time.monotonic() + seconds
    while (not path.exists() or len(path.read_text().splitlines()) < lines) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    follow.send_signal(signal.SIGTERM)
    assert follow.wait(timeout=30) == 0


def test_tail_exec_killed_at_random_points_delivers_everything_at_least_once(mxringd, tmp_path):
    # Small segments: the consumer crosses many rotations, on two writers.
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"),
                     "--segment-size", "8192", "--threads", "2")
    sent = []
    for i in range(6):
        sent += send(server, [b"Subject: n%d\r\n\r\n" % i + b"z" * 900 + b"\r\n"] * 20)
    out = tmp_path / "delivered"
    out.mkdir()
    command = (f'cat > {out}/"$MXRING_QUEUE_ID".eml && '
               f'echo "$MXRING_QUEUE_ID $SENDER $RECIPIENT" >> {out}/log')
    tail = [MXRING, "spool", "--dir", str(tmp_path / "spool"), "tail", "--cursor", "mda",
            "--exec", command]
    # Started from another --exec command, say: the message's values win over inherited ones.
    inherited = dict(os.environ, SENDER="stale@inherited.test", RECIPIENT="stale@inherited.test",
                     MXRING_QUEUE_ID="stale")
    rng = random.Random(5321)
    for _ in range(12):
        process = subprocess.Popen(tail + ["--follow"], stderr=subprocess.PIPE, env=inherited)
        time.sleep(rng.uniform(0.02, 0.25))
        process.kill()  # SIGKILL: no chance to save anything more
        process.wait()
    assert subprocess.run(tail, timeout=120, env=inherited).returncode == 0
    server.stop()
    segments = [name for writer in os.listdir(tmp_path / "spool") if writer.isdigit()
                for name in os.listdir(tmp_path / "spool" / writer)]
    assert len(segments) > 10
    log = (out / "log").read_text().splitlines()
    delivered = [line.split()[0] for line in log]
    assert set(delivered) == set(sent)  # none skipped
    assert all(line.split()[1:] == ["alice@client.test", "bob@localhost"] for line in log)
    stored = stored_messages(tmp_path / "spool")
    for queue_id in sent:
        assert (out / f"{queue_id}.eml").read_bytes() == stored[queue_id]
    # Restarting a caught-up consumer delivers nothing again.
    assert subprocess.run(tail, timeout=60).returncode == 0
    assert len((out / "log").read_text().splitlines()) == len(log)


def test_tail_exec_hands_on_every_recipient_when_their_list_is_past_what_one_run_can_take(
        mxringd, tmp_path):
    # A thousand recipients of 250 octets (the default RCPTMAX; a path may have 256): their
    # list, 250 KB, is past the 128 KiB Linux gives one environment string (E2BIG), so one run
    # for the message could never start and the consumer was held at it for good.
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    rcpts = [f"r{i:03d}" + "x" * 236 + "@localhost" for i in range(1000)]
    [queue_id] = send(server, [b"Subject: many\r\n\r\nto a thousand\r\n"], rcpts=rcpts)
    server.stop()
    stored = stored_messages(tmp_path / "spool")[queue_id]

    def runs(cursor, *options):
        out = tmp_path / cursor
        out.mkdir()
        command = (f'n=$(($(ls {out} | wc -l) / 2)); cat > {out}/$n; '
                   f'printf "%s\\n%s\\n%s" "$MXRING_RECIPIENT_COUNT" "$RECIPIENT" '
                   f'"$MXRING_RECIPIENTS" > {out}/$n.env')
        result = mxring_spool(tmp_path / "spool", "tail", "--cursor", cursor, *options,
                              "--exec", command)
        assert result.returncode == 0, result.stderr
        count = len(os.listdir(out)) // 2
        for n in range(count):
            assert (out / str(n)).read_bytes() == stored
        return [(out / f"{n}.env").read_text().split("\n") for n in range(count)]

    grouped = runs("all")
    assert len(grouped) == 2
    for number, first, *listed in grouped:
        assert int(number) == len(listed) and first == listed[0]
    assert [r for _, _, *listed in grouped for r in listed] == rcpts
    # One run a recipient, as procmail -d or dovecot-lda -d wants.
    assert runs("each", "--per-recipient") == [["1", r, r] for r in rcpts]


def test_tail_exec_per_recipient_retries_only_the_recipient_that_deferred(mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    rcpts = ["a@localhost", "b@localhost", "c@localhost"]
    send(server, [MESSAGES[0]], rcpts=rcpts)
    server.stop()
    log, marker = tmp_path / "log", tmp_path / "deferred-once"
    command = (f'echo "$RECIPIENT" >> {log}; if [ "$RECIPIENT" = b@localhost ] && '
               f'[ ! -e {marker} ]; then touch {marker}; exit 75; fi')
    tail = [MXRING, "spool", "--dir", str(tmp_path / "spool"), "tail", "--cursor", "mda",
            "--per-recipient", "--exec", command]
    follow = subprocess.Popen(tail + ["--follow"], stderr=subprocess.PIPE)
    stop_following_at(follow, log, 4)
    assert b"deferred" in follow.stderr.read()
    assert log.read_text().split() == ["a@localhost", "b@localhost", "b@localhost",
                                       "c@localhost"]
    # Delivered to all three: the cursor is past the message.
    assert subprocess.run(tail, timeout=60).returncode == 0
    assert len(log.read_text().split()) == 4
    assert mxring_spool(tmp_path / "spool", "tail", "--cursor", "x",
                        "--per-recipient").returncode != 0  # needs --exec


def test_tail_exec_kills_a_command_past_its_time_limit_and_defers_the_message(
        mxringd, tmp_path):
    """A command that hangs (and never reads a message larger than a pipe holds) held the
    consumer for good. Past --exec-timeout it is killed, with everything it started, and the
    message deferred as with exit 75 (Postfix's pipe(8) and its command_time_limit)."""
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    send(server, [b"Subject: big\r\n\r\n" + b"b" * 200_000 + b"\r\n"])
    server.stop()
    started = tmp_path / "started"
    tail = ["tail", "--cursor", "mda", "--exec-timeout", "1", "--exec",
            f"sleep 300 & echo $! > {started}; wait"]
    result = mxring_spool(tmp_path / "spool", *tail)
    assert result.returncode == 75, result.stderr
    assert b"(killed after 1 s); the cursor stays before it" in result.stderr
    # What the command started went with it (gone, or a zombie no one has reaped yet).
    pid = int(started.read_text())
    try:
        with open(f"/proc/{pid}/stat") as f:
            assert f.read().split(") ")[1][0] in "ZX"
    except FileNotFoundError:
        pass
    # The cursor did not move: a command that reads the message takes it.
    result = mxring_spool(tmp_path / "spool", "tail", "--cursor", "mda", "--exec",
                          f"wc -c > {tmp_path}/size")
    assert result.returncode == 0, result.stderr
    assert int((tmp_path / "size").read_text()) > 200_000


def test_tail_follow_streams_new_messages_and_resumes_after_sigterm(mxringd, tmp_path):
    # One writer: records come out in the order it committed them (each writer's stream is
    # ordered; several writers interleave).
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"), "--threads",
                     "1")
    first = send(server, MESSAGES[:2])
    output = tmp_path / "stream.jsonl"
    follow = subprocess.Popen([MXRING, "spool", "--dir", str(tmp_path / "spool"), "tail",
                               "--cursor", str(tmp_path / "cursor"), "--follow", "--out",
                               str(output)])
    second = send(server, MESSAGES[2:4])
    stop_following_at(follow, output, 4)
    third = send(server, MESSAGES[4:6])
    again = subprocess.run([MXRING, "spool", "--dir", str(tmp_path / "spool"), "tail",
                            "--cursor", str(tmp_path / "cursor"), "--out", str(output)],
                           timeout=60)
    assert again.returncode == 0
    ids = [json.loads(line)["queue_id"] for line in output.read_text().splitlines()]
    assert ids == first + second + third  # in order, each once after a clean stop
    assert (tmp_path / "cursor").read_text().startswith("mxring-cursor 1\n")


def test_tail_hands_on_only_what_the_writer_committed(mxringd, tmp_path):
    # A record written by pwritev is not yet acknowledged until its fdatasync: a reader that
    # took it from the file could hand on mail the client will send again. The writer is
    # stalled before it writes; nothing of the stalled message may come out.
    stall = tmp_path / "stall"
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"),
                     "--fault-writer-stall", str(stall))
    before = send(server, MESSAGES[:1])
    stall.touch()
    client = subprocess.Popen(["/usr/bin/python3", "-c", f"""
import smtplib
c = smtplib.SMTP("127.0.0.1", {server.port})
c.sendmail("late@client.test", ["bob@localhost"], b"Subject: late\\r\\n\\r\\nx\\r\\n")
"""])
    time.sleep(0.5)
    result = mxring_spool(tmp_path / "spool", "export")
    assert [json.loads(line)["queue_id"] for line in result.stdout.splitlines()] == before
    stall.unlink()
    assert client.wait(timeout=30) == 0
    result = mxring_spool(tmp_path / "spool", "export")
    assert len(result.stdout.splitlines()) == 2


def replay_into_a_new_server(mxringd, tmp_path):
    """Replays the spool under tmp_path/first into a new mxringd storing under
    tmp_path/second, stopped afterwards; mxring's result."""
    second = mxringd("--durability", "fsync", "--spool", str(tmp_path / "second"))
    result = mxring_spool(tmp_path / "first", "replay", "--to", f"127.0.0.1:{second.port}")
    assert second.stop() == 0
    return result


def replay_into_aiosmtpd(tmp_path, handler, **options):
    """Replays the spool under tmp_path/first into aiosmtpd serving `handler` (named, or it
    would look up this host's name: DNS); mxring's result."""
    from aiosmtpd.controller import Controller
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(),
                            server_hostname="receiver.test", **options)
    controller.start()
    try:
        return mxring_spool(tmp_path / "first", "replay", "--to", f"127.0.0.1:{controller.port}")
    finally:
        controller.stop()


def test_replay_reinjects_with_the_recorded_envelope(mxringd, tmp_path):
    first = mxringd("--durability", "fsync", "--spool", str(tmp_path / "first"))
    ids = send(first, MESSAGES[:6], sender="", rcpts=("bob@localhost", "carol@localhost"))
    ids += send(first, MESSAGES[6:], sender="x@client.test")
    # DSN parameters go again as they came: an ENVID needing xtext, ORCPTs of both types.
    with smtplib.SMTP(first.host, first.port, local_hostname="client.test") as c:
        c.ehlo()
        c.mail("x@client.test", ["SMTPUTF8", "RET=HDRS", "ENVID=id+2B1"])
        c.rcpt("bob@localhost", ["NOTIFY=SUCCESS", "ORCPT=rfc822;bob+2Bold@client.test"])
        c.rcpt("carol@localhost", ["ORCPT=utf-8;c\u00e4rol\\x{2B}1@client.test"])
        assert c.data(b"Subject: dsn\r\n\r\nx\r\n")[0] == 250
    first.stop()
    result = replay_into_a_new_server(mxringd, tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"replayed 9 messages; 0 not delivered" in result.stderr
    originals = stored_records(tmp_path / "first")
    replayed = stored_records(tmp_path / "second")
    assert len(replayed) == len(originals)
    [dsn] = [envelope for envelope, _ in originals if envelope["envid"]]
    assert dsn["envid"] == "id+1"
    assert [r["orcpt"] for r in dsn["recipients"]] == [
        "rfc822;bob+old@client.test", "utf-8;c\u00e4rol\\x{2B}1@client.test"]
    for (old_envelope, old), (new_envelope, new) in zip(originals, replayed):
        assert new_envelope["mail_from"] == old_envelope["mail_from"]
        assert new_envelope["recipients"] == old_envelope["recipients"]
        assert new_envelope["envid"] == old_envelope["envid"]
        # The second server adds its own trace field above the first one's.
        resent = without_trace_header(new)
        assert resent == old if old.endswith(b"\r\n") else resent == old + b"\r\n"


def test_replay_reports_what_the_receiver_refused(mxringd, tmp_path):
    first = mxringd("--durability", "fsync", "--spool", str(tmp_path / "first"), "--domain",
                    "localhost", "--domain", "elsewhere.test")
    send(first, MESSAGES[:2], rcpts=("bob@localhost",))
    send(first, MESSAGES[:1], rcpts=("someone@elsewhere.test",))
    first.stop()
    result = replay_into_a_new_server(mxringd, tmp_path)
    assert result.returncode == 1
    assert b"replayed 2 messages; 1 not delivered" in result.stderr
    assert b"550" in result.stderr or b"554" in result.stderr
    assert len(stored_ids(tmp_path / "second")) == 2


def test_replay_keeps_to_the_receivers_limits_on_messages_and_recipients(mxringd, tmp_path):
    # More messages than the receiver takes on one connection (MAILMAX; mxringd's default is
    # 1,000, and replay stopped there with "connection lost"), a message with more recipients
    # than it takes in one transaction (RCPTMAX, RFC 9422).
    first = mxringd("--durability", "fsync", "--spool", str(tmp_path / "first"))
    send(first, [b"Subject: n%d\r\n\r\nx\r\n" % i for i in range(7)])
    many = [f"r{i}@localhost" for i in range(5)]
    send(first, [b"Subject: five\r\n\r\nfor five\r\n"], rcpts=many)
    first.stop()
    second = mxringd("--durability", "fsync", "--spool", str(tmp_path / "second"),
                     "--max-messages-per-connection", "3", "--max-recipients", "2")
    result = mxring_spool(tmp_path / "first", "replay", "--to", f"127.0.0.1:{second.port}")
    assert second.stop() == 0
    assert result.returncode == 0, result.stderr
    assert b"replayed 8 messages; 0 not delivered\n" in result.stderr
    replayed = stored_records(tmp_path / "second")
    subjects = [m.split(b"Subject: ")[1].split(b"\r\n")[0] for _, m in replayed]
    assert sorted(subjects) == sorted([b"n%d" % i for i in range(7)] + [b"five"] * 3)
    shares = [[r["address"] for r in e["recipients"]] for e, m in replayed if b"five" in m]
    assert sorted(len(share) for share in shares) == [1, 2, 2]
    assert sorted(sum(shares, [])) == many


def test_replay_sends_recipients_put_off_with_452_in_a_later_transaction(mxringd, tmp_path):
    """A receiver that says nothing of its limits and answers 452 4.5.3 past two recipients,
    as Postfix's smtpd_recipient_limit does (RFC 5321 4.5.3.1.10: the client sends the rest
    in a later transaction), and refuses one recipient for good."""
    class Receiver:
        def __init__(self):
            self.transactions = []

        async def handle_RCPT(self, server, session, envelope, address, options):
            if address.startswith("nobody@"):
                return "550 5.1.1 No such user"
            if len(envelope.rcpt_tos) == 2:
                return "452 4.5.3 Too many recipients"
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 Ok"

        async def handle_DATA(self, server, session, envelope):
            self.transactions.append((list(envelope.rcpt_tos), envelope.original_content))
            return "250 2.0.0 Ok"

    first = mxringd("--durability", "fsync", "--spool", str(tmp_path / "first"))
    rcpts = ["a@localhost", "b@localhost", "nobody@localhost", "c@localhost", "d@localhost",
             "e@localhost"]
    message = b"Subject: six\r\n\r\nfor six\r\n"
    send(first, [message], rcpts=rcpts)
    first.stop()
    receiver = Receiver()
    result = replay_into_aiosmtpd(tmp_path, receiver)
    assert result.returncode == 1  # one recipient not delivered
    assert b"replayed 1 messages; 0 not delivered; 1 recipients not delivered" in result.stderr
    assert b"1 of 6 recipients not delivered: RCPT TO:<nobody@localhost> \xe2\x86\x92 550" \
        in result.stderr
    assert [r for r, _ in receiver.transactions] == [
        ["a@localhost", "b@localhost"], ["c@localhost", "d@localhost"], ["e@localhost"]]
    stored = stored_messages(tmp_path / "first")
    for _, content in receiver.transactions:
        assert content == list(stored.values())[0]


def test_replay_sends_utf8_addresses_and_header_fields_only_where_smtputf8_is_offered(
        mxringd, tmp_path):
    """RFC 6531 3.4: a message with a UTF-8 address or header field goes only to a server
    that offers SMTPUTF8 (aiosmtpd told not to); one whose client said SMTPUTF8 with nothing
    but ASCII goes anyway."""
    from aiosmtpd.handlers import Sink

    first = mxringd("--durability", "fsync", "--spool", str(tmp_path / "first"))
    with smtplib.SMTP(first.host, first.port, local_hostname="client.test") as c:
        for recipient, subject in [("j\u00fcrgen@localhost", "ascii"),
                                   ("bob@localhost", "caf\u00e9"),
                                   ("bob@localhost", "plain")]:
            message = f"Subject: {subject}\r\n\r\nbody\r\n".encode()
            c.sendmail("alice@client.test", [recipient], message,
                       mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    first.stop()
    result = replay_into_aiosmtpd(tmp_path, Sink(), enable_SMTPUTF8=False)
    assert result.returncode == 1
    assert b"replayed 1 messages; 2 not delivered" in result.stderr
    assert result.stderr.count(b"need a server that offers SMTPUTF8") == 2


def test_replay_sends_binarymime_with_bdat(mxringd, tmp_path):
    first = mxringd("--durability", "fsync", "--spool", str(tmp_path / "first"))
    send(first, MESSAGES[:1])
    store_binarymime(first)
    first.stop()
    result = replay_into_a_new_server(mxringd, tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"replayed 2 messages; 0 not delivered" in result.stderr
    # Each spool lists its writers' records writer by writer: found by body, not by order.
    [old] = [m for e, m in stored_records(tmp_path / "first") if e["body"] == "BINARYMIME"]
    [new] = [m for e, m in stored_records(tmp_path / "second") if e["body"] == "BINARYMIME"]
    assert without_trace_header(new) == old  # byte for byte: not dot-stuffed, nothing added


def test_replay_does_not_send_binarymime_where_it_is_not_offered(mxringd, tmp_path):
    first = mxringd("--durability", "fsync", "--spool", str(tmp_path / "first"))
    store_binarymime(first)
    send(first, MESSAGES[:1])
    first.stop()
    with smtp_sink() as port:  # Postfix's smtp-sink offers neither CHUNKING nor BINARYMIME
        result = mxring_spool(tmp_path / "first", "replay", "--to", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert b"needs a server that offers CHUNKING and BINARYMIME" in result.stderr
    assert b"replayed 1 messages; 1 not delivered" in result.stderr


def segments_of(directory):
    return sorted(os.path.join(w, s) for w in os.listdir(directory) if w.isdigit()
                  for s in os.listdir(os.path.join(directory, w)) if s.endswith(".seg"))


def test_retention_keeps_what_a_registered_cursor_has_not_read(mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"),
                     "--segment-size", "4096", "--threads", "1")
    ids = send(server, [b"Subject: r\r\n\r\n" + b"r" * 1500 + b"\r\n"] * 12)
    server.stop()
    directory = tmp_path / "spool"
    before = segments_of(directory)
    assert len(before) > 3
    # A registered consumer that has read nothing yet holds every segment, and is named.
    assert mxring_spool(directory, "tail", "--cursor", "slow", "--batch", "1",
                        "--exec", "exit 75").returncode == 75
    result = mxring_spool(directory, "prune", "--older-than", "0")
    assert result.returncode == 0
    assert b"held by cursor slow" in result.stdout
    assert segments_of(directory) == before
    # Once it has read everything, all but each writer's last segment may go.
    assert mxring_spool(directory, "tail", "--cursor", "slow", "--out", os.devnull,
                        "--format", "jsonl").returncode == 0
    result = mxring_spool(directory, "prune", "--older-than", "0")
    assert result.returncode == 0, result.stderr
    assert segments_of(directory) == before[-1:]
    # What is left still reads; what the consumer already had is gone.
    remaining = [json.loads(line)["queue_id"] for line in
                 mxring_spool(directory, "export").stdout.splitlines()]
    assert remaining and set(remaining) < set(ids)


def test_mxringd_retention_deletes_old_segments_and_reports_a_lagging_consumer(mxringd, tmp_path):
    directory = tmp_path / "spool"
    server = mxringd("--durability", "fsync", "--spool", str(directory), "--segment-size",
                     "4096", "--threads", "1", "--retention", "1")
    send(server, [b"Subject: r\r\n\r\n" + b"r" * 1500 + b"\r\n"] * 6)
    (directory / "cursors").mkdir()
    (directory / "cursors" / "laggard").write_text("mxring-cursor 1\n")
    time.sleep(1.2)
    send(server, [b"Subject: r\r\n\r\n" + b"r" * 1500 + b"\r\n"] * 4)  # rotates: a pass
    assert server.wait_for_output("held by cursor laggard")
    assert len(segments_of(directory)) >= 4
    # An unregistered consumer (a cursor file elsewhere) is not waited for; when it comes
    # back it is told what it missed instead of silently skipping it.
    (directory / "cursors" / "laggard").unlink()
    time.sleep(1.2)
    send(server, [b"Subject: r\r\n\r\n" + b"r" * 1500 + b"\r\n"] * 4)
    assert server.wait_for_output("retention: deleted")
    server.stop()
    (tmp_path / "elsewhere").write_text("mxring-cursor 1\n0 1 0\n")
    result = mxring_spool(directory, "tail", "--cursor", str(tmp_path / "elsewhere"), "--out",
                          os.devnull)
    assert result.returncode == 0
    assert b"was deleted before it was read" in result.stderr
