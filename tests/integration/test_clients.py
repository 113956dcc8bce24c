"""Real clients nobody here wrote deliver through a running mxringd: Python smtplib, swaks
(plain and pipelined), curl smtp://, msmtp, Postfix's smtp-source, and Postfix itself as a
relay (its sendmail, queue and smtp client). TLS and AUTH clients: test_tls.py, test_auth.py."""
import os
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest

from conftest import free_port
from spool_cli import stored_ids, stored_records, without_trace_header

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../bench/e2e"))
from postfix_instance import PostfixInstance  # noqa: E402  (bench/ owns the private Postfix)


def test_smtplib_delivers_to_several_recipients(mxringd):
    server = mxringd()
    message = EmailMessage()
    message["From"] = "alice@client.test"
    message["To"] = "bob@localhost, carol@localhost"
    message["Subject"] = "integration"
    message.set_content("hello\n.a line that starts with a dot\n")
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as client:
        code, _ = client.ehlo()
        assert code == 250
        assert client.has_extn("pipelining") and client.has_extn("8bitmime")
        assert client.has_extn("size") and client.esmtp_features["size"] == "52428800"
        assert client.mail("alice@client.test") == (250, b"2.1.0 Ok")
        for rcpt in ("bob@localhost", "carol@localhost", "dave@localhost"):
            assert client.rcpt(rcpt) == (250, b"2.1.5 Ok")
        code, text = client.data(message.as_string())  # str: smtplib sends CRLF line ends
        assert code == 250 and text.startswith(b"2.0.0 Ok: discarded as ")
        assert client.rcpt("x@localhost") == (503, b"5.5.1 Need MAIL command")
    assert server.stop() == 0
    assert server.messages_accepted() == 1


def test_smtplib_sees_relay_refused(mxringd):
    server = mxringd()
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as client:
        client.ehlo()
        client.mail("alice@client.test")
        assert client.rcpt("someone@elsewhere.test") == (550, b"5.7.1 Relay access denied")
        assert client.docmd("DATA") == (554, b"5.5.1 No valid recipients")
    server.stop()
    assert server.messages_accepted() == 0


def test_smtplib_looping_message_is_refused_and_the_session_goes_on(mxringd, tmp_path):
    """RFC 5321 §6.3: a message that already carries 100 Received fields is looping; storing
    it would feed the loop. smtplib hears 554 5.4.6 and delivers the next message."""
    directory = tmp_path / "spool"
    server = mxringd("--durability", "fsync", "--spool", str(directory))

    def hops(n):
        return "".join(f"Received: from hop{i}.test by hop{i + 1}.test; "
                       "Sat, 28 Nov 2026 00:00:00 +0000\r\n" for i in range(n))

    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as client:
        client.sendmail("a@client.test", ["bob@localhost"],
                        hops(99) + "Subject: 99 hops\r\n\r\nbody\r\n")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("a@client.test", ["bob@localhost"],
                            hops(100) + "Subject: 100 hops\r\n\r\nbody\r\n")
        assert (refused.value.smtp_code, refused.value.smtp_error) == (
            554, b"5.4.6 Too many Received header fields: mail loop")
        client.sendmail("a@client.test", ["bob@localhost"], "Subject: no hops\r\n\r\nbody\r\n")
    assert server.stop() == 0
    subjects = sorted(message.split(b"Subject: ")[1].split(b"\r\n")[0]
                      for _, message in stored_records(directory))
    assert subjects == [b"99 hops", b"no hops"]


def test_smtplib_sees_routing_in_the_local_part_refused_as_relay(mxringd):
    # user%elsewhere, elsewhere!user and "user@elsewhere" at an accepted domain are what
    # Postfix and sendmail forward to elsewhere: accepting them would make us a relay.
    server = mxringd()
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as client:
        client.ehlo()
        client.mail("alice@client.test")
        for rcpt in ("victim%elsewhere.test@localhost", "elsewhere.test!victim@localhost",
                     '"victim@elsewhere.test"@localhost', "postmaster%elsewhere.test@localhost"):
            assert client.rcpt(rcpt) == (550, b"5.7.1 Relay access denied"), rcpt
        assert client.rcpt("bob@localhost") == (250, b"2.1.5 Ok")
        code, text = client.data(b"Subject: routed\r\n\r\nbody\r\n")
        assert code == 250, text
    server.stop()
    assert server.messages_accepted() == 1


def swaks(server, *extra):
    return subprocess.run(
        ["swaks", "--server", f"{server.host}:{server.port}", "--helo", "client.test",
         "--from", "alice@client.test", "--to", "bob@localhost,carol@localhost", *extra],
        capture_output=True, text=True, timeout=60)


def test_swaks_plain(mxringd):
    server = mxringd()
    result = swaks(server)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<-  250 2.0.0 Ok: discarded as " in result.stdout
    assert "<-  221 2.0.0 Bye" in result.stdout
    server.stop()
    assert server.messages_accepted() == 1


def test_swaks_pipelined(mxringd):
    server = mxringd()
    result = swaks(server, "--pipeline")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<-  250 2.1.0 Ok" in result.stdout and "<-  354 End data" in result.stdout
    assert "<-  250 2.0.0 Ok: discarded as " in result.stdout
    server.stop()
    assert server.messages_accepted() == 1


def curl(server, path, *extra):
    return subprocess.run(
        ["curl", "-sS", "-v", f"smtp://{server.host}:{server.port}/client.test",
         "--mail-from", "alice@client.test", "--mail-rcpt", "bob@localhost",
         "--mail-rcpt", "carol@localhost", "--upload-file", str(path), *extra],
        capture_output=True, text=True, timeout=60)


def test_curl_delivers_crlf_content(mxringd, tmp_path):
    server = mxringd()
    body = tmp_path / "message.eml"
    body.write_text("Subject: curl\n\nhello from curl\n.dot\n")
    result = curl(server, body, "--crlf")
    assert result.returncode == 0, result.stderr
    assert "< 250 2.0.0 Ok: discarded as " in result.stderr
    server.stop()
    assert server.messages_accepted() == 1


def test_curl_bare_lf_content_is_refused_not_normalised(mxringd, tmp_path):
    """Without --crlf curl sends bare LF line ends: refused (SMTP smuggling rule), and the
    connection stays usable (curl goes on to QUIT)."""
    server = mxringd()
    body = tmp_path / "message.eml"
    body.write_text("Subject: curl\n\nbare line feeds\n")
    result = curl(server, body)
    assert result.returncode != 0
    assert "< 550 5.6.0 Message has a bare CR or LF; lines end with CRLF" in result.stderr
    server.stop()
    assert server.messages_accepted() == 0


def test_smtp_source_thousand_messages_over_fifty_sessions(mxringd):
    server = mxringd()
    result = subprocess.run(
        ["smtp-source", "-s", "50", "-m", "1000", "-l", "1024", "-f", "alice@client.test",
         "-t", "bob@localhost", "-S", "integration", f"{server.host}:{server.port}"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert server.stop() == 0
    assert server.messages_accepted() == 1000


def stored_envelope_and_message(spool_dir):
    (record,) = stored_records(spool_dir)
    envelope, message = record
    return envelope, without_trace_header(message)


def test_msmtp_delivers_with_the_envelope_it_was_given(mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    # Whole headers: msmtp adds From: and Date: when they are missing.
    body = (b"From: alice@client.test\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n"
            b"Message-ID: <msmtp.1@client.test>\r\nSubject: msmtp\r\n\r\n"
            b"from msmtp\r\n.a line that starts with a dot\r\n")
    result = subprocess.run(
        ["msmtp", "--host", server.host, f"--port={server.port}", "--domain=client.test",
         "--from=alice@client.test", "--auth=off", "--tls=off",
         "bob@localhost", "carol@localhost"], input=body, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert server.stop() == 0
    envelope, message = stored_envelope_and_message(tmp_path / "spool")
    assert envelope["helo"] == "client.test"
    assert envelope["mail_from"] == "alice@client.test"
    assert [r["address"] for r in envelope["recipients"]] == ["bob@localhost", "carol@localhost"]
    assert message == body


def test_postfix_as_a_relay_delivers_into_the_spool(mxringd, tmp_path):
    """A private Postfix (queue under tmp_path) with relayhost = mxringd: mail injected with
    Postfix's sendmail goes pickup, cleanup, qmgr, smtp client, and lands in the spool with
    the envelope Postfix was given."""
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"),
                     "--domain", "example.test")
    relay = PostfixInstance(
        free_port(), cpu="0-1", parent=None,  # Postfix's own users must reach its queue
        main_extra=(f"myhostname = relay.test\nmydestination =\n"
                    f"relayhost = [{server.host}]:{server.port}\n"),
        master_extra="smtp unix - - n - - smtp\nrelay unix - - n - - smtp\n")
    try:
        relay.master_pid()
        body = b"Subject: through postfix\r\n\r\nrelayed by Postfix\r\n"
        injected = subprocess.run(
            ["sendmail", "-C", relay.etc, "-f", "alice@client.test", "bob@example.test",
             "carol@example.test"], input=body.replace(b"\r\n", b"\n"), capture_output=True,
            timeout=60)
        assert injected.returncode == 0, injected.stderr
        deadline = time.monotonic() + 60
        while not stored_ids(tmp_path / "spool"):
            assert time.monotonic() < deadline, open(relay.log.name).read()
            time.sleep(0.2)
    finally:
        relay.stop()
    assert server.stop() == 0
    envelope, message = stored_envelope_and_message(tmp_path / "spool")
    assert envelope["helo"] == "relay.test"
    assert envelope["mail_from"] == "alice@client.test"
    assert sorted(r["address"] for r in envelope["recipients"]) == [
        "bob@example.test", "carol@example.test"]
    # Postfix adds its own trace and headers; what it was given follows, CRLF on the wire.
    headers, _, content = message.partition(b"\r\n\r\n")
    assert headers.startswith(b"Received: by relay.test (Postfix")
    assert b"\r\nSubject: through postfix\r\n" in headers + b"\r\n"
    assert content == b"relayed by Postfix\r\n"


MATRIX_BODY = b"Subject: matrix\r\n\r\nthe same message from every client\r\n"


def send_with(client, server, tmp_path):
    """Delivers MATRIX_BODY from alice@client.test to bob and carol with `client`."""
    source = tmp_path / "message.eml"
    source.write_bytes(MATRIX_BODY)
    target, port = server.host, str(server.port)
    commands = {
        "swaks": ["swaks", "--server", f"{target}:{port}", "--helo", "client.test", "--from",
                  "alice@client.test", "--to", "bob@localhost,carol@localhost", "--data",
                  str(source)],
        "swaks-pipeline": ["swaks", "--server", f"{target}:{port}", "--helo", "client.test",
                           "--from", "alice@client.test", "--to",
                           "bob@localhost,carol@localhost", "--data", str(source),
                           "--pipeline"],
        "curl": ["curl", "-sS", f"smtp://{target}:{port}/client.test", "--mail-from",
                 "alice@client.test", "--mail-rcpt", "bob@localhost", "--mail-rcpt",
                 "carol@localhost", "--upload-file", str(source)],
        "msmtp": ["msmtp", "--host", target, f"--port={port}", "--domain=client.test",
                  "--from=alice@client.test", "--auth=off", "--tls=off", "bob@localhost",
                  "carol@localhost"],
    }
    if client == "smtplib":
        with smtplib.SMTP(target, server.port, local_hostname="client.test") as c:
            c.sendmail("alice@client.test", ["bob@localhost", "carol@localhost"], MATRIX_BODY)
        return
    result = subprocess.run(commands[client], input=MATRIX_BODY if client == "msmtp" else None,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("client", ["smtplib", "swaks", "swaks-pipeline", "curl", "msmtp"])
def test_every_client_records_the_envelope_exactly(mxringd, tmp_path, client):
    """The interop matrix: each client's HELO, sender, recipients and message land in the spool
    exactly as it sent them (TLS and AUTH clients: test_tls.py, test_auth.py)."""
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"))
    send_with(client, server, tmp_path)
    assert server.stop() == 0
    envelope, message = stored_envelope_and_message(tmp_path / "spool")
    assert envelope["helo"] == "client.test"
    assert envelope["mail_from"] == "alice@client.test"
    assert [r["address"] for r in envelope["recipients"]] == ["bob@localhost", "carol@localhost"]
    if client == "msmtp":  # msmtp adds the From: and Date: headers this message lacks
        assert message.endswith(MATRIX_BODY)
    elif client.startswith("swaks"):  # swaks ends --data with a line end of its own
        assert message == MATRIX_BODY + b"\r\n"
    else:
        assert message == MATRIX_BODY
