"""Real clients nobody here wrote deliver through a running mxringd: Python smtplib, swaks
(plain and pipelined), curl smtp://, and Postfix's smtp-source."""
import smtplib
import subprocess
from email.message import EmailMessage


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
