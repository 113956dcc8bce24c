"""AUTH (RFC 4954) through a running mxringd with real clients: smtplib login over STARTTLS
on submission and over implicit TLS on smtps, swaks --auth (PLAIN and LOGIN), credentials
hashed by `openssl passwd -6` and by `mxring passwd --argon2id`. AUTH is never offered in
plaintext or on the smtp role; submission wants AUTH before MAIL; failures get 535 and, past
the limit, 454 even for the right password; SIGHUP reloads the users."""
import os
import signal
import smtplib
import subprocess

import pytest

from certificates import insecure_client_context, make_certificate
from conftest import MXRINGD, free_port
from spool_cli import stored_records

MXRING = os.path.join(os.path.dirname(MXRINGD), "mxring")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificate(str(tmp_path_factory.mktemp("certs")), "mx", ["mx.test"], "ec")


def openssl_hash(password):
    return subprocess.run(["openssl", "passwd", "-6", password], capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()


def mxring_hash(password, *flags):
    return subprocess.run([MXRING, "passwd", *flags], input=password + "\n", capture_output=True,
                          text=True, check=True, timeout=30).stdout.strip()


@pytest.fixture
def users(tmp_path):
    path = tmp_path / "users"
    path.write_text(f"# submission users\nalice:{openssl_hash('wonderland')}\n"
                    f"bob:{mxring_hash('builder', '--argon2id')}\n")
    return path


def auth_server(mxringd, certs, users, *extra):
    submission, smtps = free_port(), free_port()
    server = mxringd("--listen", f"127.0.0.1:{submission}:submission",
                     "--listen", f"127.0.0.1:{smtps}:smtps",
                     "--tls-cert", certs[0], "--tls-key", certs[1],
                     "--auth-users", str(users), *extra)
    server.submission, server.smtps = submission, smtps
    return server


def test_submission_login_over_starttls_relays_and_records_the_user(mxringd, certs, users,
                                                                       tmp_path):
    server = auth_server(mxringd, certs, users, "--durability", "fsync",
                         "--spool", str(tmp_path / "spool"))
    with smtplib.SMTP(server.host, server.submission, local_hostname="client.test") as client:
        client.ehlo()
        assert not client.has_extn("auth")  # never offered in plaintext
        assert client.docmd("AUTH", "PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")[0] == 538
        assert client.docmd("MAIL FROM:<alice@client.test>") == (
            530, b"5.7.0 Must issue a STARTTLS command first")
        client.starttls(context=insecure_client_context())
        client.ehlo()
        assert client.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        assert client.docmd("MAIL FROM:<alice@client.test>") == (
            530, b"5.7.0 Authentication required")
        assert client.login("alice", "wonderland") == (235, b"2.7.0 Authentication successful")
        # Authenticated submission may relay anywhere (RFC 6409).
        client.sendmail("alice@client.test", ["someone@elsewhere.example"],
                        b"Subject: relayed\r\n\r\nfrom an authenticated user\r\n",
                        mail_options=["AUTH=<alice@client.test>"])
    server.stop()
    [(envelope, body)] = stored_records(tmp_path / "spool")
    assert envelope["auth"] == "alice"
    assert envelope["role"] == "submission"
    assert envelope["recipients"][0]["address"] == "someone@elsewhere.example"
    assert envelope["mail_auth"] == "<alice@client.test>"
    assert envelope["tls"]["version"] == "TLSv1.3"
    assert b"with ESMTPSA" in body.split(b"\r\n\r\n")[0]


def test_smtp_ssl_login_with_an_argon2id_user(mxringd, certs, users):
    server = auth_server(mxringd, certs, users)
    with smtplib.SMTP_SSL(server.host, server.smtps, local_hostname="client.test",
                          context=insecure_client_context()) as client:
        client.ehlo()
        assert "PLAIN" in client.esmtp_features["auth"]
        assert client.login("bob", "builder")[0] == 235
        assert client.docmd("AUTH", "PLAIN AGJvYgBidWlsZGVy") == (
            503, b"5.5.1 Already authenticated")
        client.sendmail("bob@client.test", ["x@elsewhere.example"], b"Subject: b\r\n\r\nb\r\n")
    server.stop()
    assert server.messages_accepted() == 1


def test_wrong_passwords_get_535_then_454_even_for_the_right_one(mxringd, certs, users):
    server = auth_server(mxringd, certs, users, "--auth-max-failures", "3")
    with smtplib.SMTP_SSL(server.host, server.smtps, local_hostname="client.test",
                          context=insecure_client_context()) as client:
        client.ehlo()

        def plain(password):  # one attempt (login() would go on to try LOGIN too)
            client.user, client.password = "alice", password
            return client.auth("PLAIN", client.auth_plain)

        for password in ("wrong", "Wonderland", "wonderland "):
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                plain(password)
            assert refused.value.smtp_code == 535
            assert refused.value.smtp_error == b"5.7.8 Authentication credentials invalid"
        with pytest.raises(smtplib.SMTPAuthenticationError) as throttled:
            plain("wonderland")
        assert throttled.value.smtp_code == 454
        assert throttled.value.smtp_error == b"4.7.0 Temporary authentication failure"
        assert client.noop()[0] == 250  # the connection is still sane
    # The limit is per client address: from another loopback address alice gets in.
    with smtplib.SMTP_SSL(server.host, server.smtps, local_hostname="client.test",
                          context=insecure_client_context(), source_address=("127.0.0.2", 0)) as client:
        assert client.login("alice", "wonderland")[0] == 235
    server.stop()


def test_unknown_user_and_bad_encoding_are_refused(mxringd, certs, users):
    server = auth_server(mxringd, certs, users, "--auth-max-failures", "0")
    with smtplib.SMTP_SSL(server.host, server.smtps, local_hostname="client.test",
                          context=insecure_client_context()) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login("mallory", "wonderland")
        assert refused.value.smtp_code == 535
        assert client.docmd("AUTH", "PLAIN !!!notbase64")[0] == 501
        assert client.docmd("AUTH", "CRAM-MD5")[0] == 504
        assert client.docmd("MAIL FROM:<m@client.test>")[0] == 530
    server.stop()
    assert server.messages_accepted() == 0


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_swaks_auth_over_starttls_and_implicit_tls(mxringd, certs, users, mechanism):
    server = auth_server(mxringd, certs, users)
    for port, tls in ((server.submission, "--tls"), (server.smtps, "--tlsc")):
        result = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{port}", tls, "--auth", mechanism,
             "--auth-user", "alice", "--auth-password", "wonderland", "--helo", "client.test",
             "--from", "alice@client.test", "--to", "friend@elsewhere.example"],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "<~  235 2.7.0 Authentication successful" in result.stdout
        assert "<~  250 2.0.0 Ok: discarded as " in result.stdout
    server.stop()
    assert server.messages_accepted() == 2


def test_smtp_role_never_offers_auth(mxringd, certs, users):
    server = auth_server(mxringd, certs, users)
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as client:
        client.starttls(context=insecure_client_context())
        client.ehlo()
        assert not client.has_extn("auth")
        assert client.docmd("AUTH", "PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=") == (
            503, b"5.5.1 AUTH not available")
        client.mail("alice@client.test")
        assert client.rcpt("someone@elsewhere.example")[0] == 550  # and no relaying
    server.stop()


def test_sighup_reloads_the_users(mxringd, certs, users):
    server = auth_server(mxringd, certs, users)
    with smtplib.SMTP_SSL(server.host, server.smtps, context=insecure_client_context()) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("carol", "secret")
    users.write_text(users.read_text() + f"carol:{mxring_hash('secret')}\n")
    server.signal(signal.SIGHUP)
    server.wait_for_output("reloaded")
    with smtplib.SMTP_SSL(server.host, server.smtps, context=insecure_client_context()) as client:
        assert client.login("carol", "secret")[0] == 235
    users.write_text("carol:plaintext-is-refused\n")
    server.signal(signal.SIGHUP)
    server.wait_for_output("reload failed")
    assert "unsupported hash" in server.output()
    with smtplib.SMTP_SSL(server.host, server.smtps, context=insecure_client_context()) as client:
        assert client.login("alice", "wonderland")[0] == 235  # the last good file stays
    assert server.stop() == 0
