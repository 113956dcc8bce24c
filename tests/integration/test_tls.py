"""TLS through a running mxringd with real clients: openssl s_client -starttls smtp (TLS 1.2
and 1.3, several groups and ciphers, SNI), Python smtplib (starttls, SMTP_SSL), swaks --tls and
--tlsc, curl --ssl-reqd. Weak suites are refused, STARTTLS injection is never answered, tickets
resume across reactors, and SIGHUP swaps certificates without dropping connections."""
import os
import select
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from certificates import insecure_client_context, make_certificate
from conftest import MXRINGD, free_port
from spool_cli import stored_records

MXRING = os.path.join(os.path.dirname(MXRINGD), "mxring")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("certs"))
    return {
        "ec": make_certificate(directory, "mx", ["mx.test", "localhost"], "ec"),
        "rsa": make_certificate(directory, "other", ["other.test", "*.wild.test"], "rsa"),
        "replacement": make_certificate(directory, "renewed", ["mx.test", "renewed.test"], "ec"),
    }


def tls_server(mxringd, certs, *extra, pairs=("ec", "rsa")):
    args = []
    for pair in pairs:
        args += ["--tls-cert", certs[pair][0], "--tls-key", certs[pair][1]]
    smtps_port = free_port()
    server = mxringd("--listen", f"127.0.0.1:{smtps_port}:smtps", *args, *extra)
    server.smtps_port = smtps_port
    return server


def s_client(port, *options, starttls=True):
    """openssl s_client: the handshake, then EHLO and, once it is answered (RFC 2920 §3.1:
    EHLO ends a pipelined group), QUIT. s_client writes what it receives straight through."""
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-ign_eof", *options]
    if starttls:
        command[2:2] = ["-starttls", "smtp"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdin.write(b"EHLO client.test\r\n")
    process.stdin.flush()
    out, deadline = b"", time.monotonic() + 30
    # The EHLO's last line, or the end of a handshake that failed.
    while b"250 LIMITS" not in out and time.monotonic() < deadline:
        if not select.select([process.stdout], [], [], 1)[0]:
            continue
        chunk = os.read(process.stdout.fileno(), 65536)
        if not chunk:
            break
        out += chunk
    try:
        process.stdin.write(b"QUIT\r\n")
        process.stdin.close()
    except BrokenPipeError:
        pass
    process.stdin = None  # closed: communicate() only reads
    rest, err = process.communicate(timeout=30)
    return subprocess.CompletedProcess(command, process.returncode, out + rest, err)


def negotiated(result):
    """(protocol, cipher, key exchange group, output) from s_client's summary."""
    out = result.stdout.decode(errors="replace")
    protocol = cipher = group = None
    for line in out.splitlines():
        if line.startswith("New, ") and ", Cipher is " in line:
            protocol = line.split(", ")[1]
            cipher = line.split("Cipher is ")[1].strip()
        if line.startswith("Server Temp Key: "):
            group = line.split(": ")[1].split(",")[0 if "X25519" in line or "X448" in line else 1]
            group = group.strip()
    return protocol, cipher, group, out


@pytest.mark.parametrize("options,expected", [
    (["-tls1_3"], ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "X25519")),
    (["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"],
     ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "X25519")),
    (["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384", "-groups", "P-256"],
     ("TLSv1.3", "TLS_AES_256_GCM_SHA384", "prime256v1")),
    (["-tls1_3", "-groups", "P-384"], ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "secp384r1")),
    (["-tls1_3", "-groups", "X448"], ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "X448")),
    (["-tls1_2"], ("TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305", "X25519")),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
     ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", "X25519")),
    (["-tls1_2", "-cipher", "ECDHE+AESGCM", "-curves", "P-256"],
     ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", "prime256v1")),
])
def test_openssl_starttls_negotiates(mxringd, certs, options, expected):
    server = tls_server(mxringd, certs)
    result = s_client(server.port, *options)
    *got, out = negotiated(result)
    assert tuple(got) == expected, out
    # After the handshake the session starts over: EHLO is answered, then QUIT. (s_client
    # prints nothing of the plaintext part.)
    assert "250-mx.test" in out and "250 LIMITS" in out and "221 2.0.0 Bye" in out
    assert "STARTTLS" not in out  # RFC 3207 §4.2: not offered again
    server.stop()


@pytest.mark.parametrize("options", [
    ["-tls1_1"],
    ["-tls1"],
    ["-tls1_2", "-cipher", "AES128-SHA"],               # RSA key exchange, CBC
    ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"],     # CBC with SHA-1
    ["-tls1_2", "-cipher", "ECDHE-RSA-DES-CBC3-SHA:@SECLEVEL=0"],
    ["-tls1_2", "-cipher", "NULL:eNULL:@SECLEVEL=0"],
])
def test_weak_protocols_and_suites_are_refused(mxringd, certs, options):
    server = tls_server(mxringd, certs)
    result = s_client(server.port, *options)
    _, cipher, _, out = negotiated(result)
    assert cipher in (None, "0000", "(NONE)"), out
    assert "250-mx.test" not in out.split("CONNECTED")[-1]
    # The server is still fine.
    good = s_client(server.port, "-tls1_3")
    assert negotiated(good)[0] == "TLSv1.3"
    server.stop()


@pytest.mark.parametrize("name,subject", [
    ("mx.test", "CN = mx.test"),
    ("other.test", "CN = other.test"),
    ("a.wild.test", "CN = other.test"),         # *.wild.test covers one label
    ("a.b.wild.test", "CN = mx.test"),          # ... not two: the default certificate
    ("unknown.test", "CN = mx.test"),
])
def test_sni_picks_the_certificate(mxringd, certs, name, subject):
    server = tls_server(mxringd, certs)
    for port, starttls in ((server.port, True), (server.smtps_port, False)):
        result = s_client(port, "-servername", name, starttls=starttls)
        out = result.stdout.decode(errors="replace")
        assert f"subject={subject}" in out, out
    server.stop()


def test_smtplib_starttls_and_smtp_ssl_store_with_tls_in_envelope(mxringd, certs, tmp_path):
    server = tls_server(mxringd, certs, "--durability", "fsync", "--spool", str(tmp_path / "s"))
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert client.starttls(context=insecure_client_context())[0] == 220
        client.ehlo()
        assert not client.has_extn("starttls")  # RFC 3207 §4.2: not offered over TLS
        assert client.has_extn("requiretls")
        client.sendmail("alice@client.test", ["bob@localhost"], b"Subject: one\r\n\r\nover starttls\r\n")
    server.stop()
    records = stored_records(tmp_path / "s")
    assert len(records) == 1
    by_subject = {body.split(b"Subject: ")[1].split(b"\r\n")[0]: (e, body) for e, body in records}
    for subject, role in ((b"one", "smtp"),):
        envelope, body = by_subject[subject]
        assert envelope["tls"]["version"] == "TLSv1.3"
        assert envelope["tls"]["cipher"] == "TLS_CHACHA20_POLY1305_SHA256"
        assert envelope["role"] == role
        assert b"with ESMTPS" in body.split(b"\r\n\r\n")[0]
        assert b"TLSv1.3" in body.split(b"\r\n\r\n")[0]


def test_smtp_ssl_on_smtps_greets_inside_tls_and_wants_auth(mxringd, certs):
    server = tls_server(mxringd, certs)
    with smtplib.SMTP_SSL(server.host, server.smtps_port, local_hostname="client.test",
                          context=insecure_client_context()) as client:
        assert client.sock.version() == "TLSv1.3"
        code, _ = client.ehlo()
        assert code == 250 and not client.has_extn("starttls")
        # RFC 6409 §4.3 / RFC 8314: submission ports take mail from authenticated users only.
        assert client.docmd("MAIL FROM:<alice@client.test>") == (
            530, b"5.7.0 Authentication required")
    server.stop()


def test_sni_is_recorded_in_the_envelope(mxringd, certs, tmp_path):
    """A host name is recorded as the client sent it. RFC 6066 §3 makes it an ASCII DNS name:
    one with a line break or a control character (wolfSSL hands on any octets) is not
    recorded, where it went into the envelope, and Kafka's headers, as sent."""
    server = tls_server(mxringd, certs, "--durability", "fsync", "--spool", str(tmp_path / "s"))
    context = insecure_client_context()
    for name in ("other.test", "bad\r\nX-Sni: 1", "sp ace.test"):
        with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as client:
            client._host = name  # smtplib sends SNI for the host it was told to reach
            client.starttls(context=context)
            client.sendmail("alice@client.test", ["bob@localhost"],
                            b"Subject: sni\r\n\r\nx\r\n")
    server.stop()
    envelopes = [envelope for envelope, _ in stored_records(tmp_path / "s")]
    assert sorted(e["tls"]["sni"] or "" for e in envelopes) == ["", "", "other.test"]


def test_swaks_tls_tlsc_and_curl(mxringd, certs):
    server = tls_server(mxringd, certs)
    base = ["swaks", "--helo", "client.test", "--from", "alice@client.test", "--to",
            "bob@localhost"]
    starttls = subprocess.run(base + ["--server", f"127.0.0.1:{server.port}", "--tls"],
                              capture_output=True, text=True, timeout=60)
    assert starttls.returncode == 0, starttls.stdout + starttls.stderr
    assert "<~  250 2.0.0 Ok: discarded as " in starttls.stdout  # ~: inside TLS
    implicit = subprocess.run(base + ["--server", f"127.0.0.1:{server.smtps_port}", "--tlsc"],
                              capture_output=True, text=True, timeout=60)
    # Implicit TLS is a submission port: the greeting comes inside TLS, MAIL wants AUTH.
    assert "<~  220 mx.test ESMTP" in implicit.stdout, implicit.stdout + implicit.stderr
    assert "<~* 530 5.7.0 Authentication required" in implicit.stdout
    curl = subprocess.run(
        ["curl", "--silent", "--show-error", "--ssl-reqd", "--insecure",
         f"smtp://127.0.0.1:{server.port}", "--mail-from", "alice@client.test",
         "--mail-rcpt", "bob@localhost", "--upload-file", "-"],
        input=b"Subject: curl\r\n\r\nover starttls\r\n", capture_output=True, timeout=60)
    assert curl.returncode == 0, curl.stderr
    server.stop()
    assert server.messages_accepted() == 2


def read_reply(sock):
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            return data


def starttls_with(sock, pipelined):
    """EHLO, then STARTTLS with `pipelined` in the same segment; returns what came back
    before the handshake."""
    assert read_reply(sock).startswith(b"220 ")
    sock.sendall(b"EHLO client.test\r\n")
    assert b"STARTTLS" in read_reply(sock)
    sock.sendall(b"STARTTLS\r\n" + pipelined)
    reply = read_reply(sock)
    time.sleep(0.2)  # anything answered to the injection would have arrived by now
    sock.setblocking(False)
    try:
        extra = sock.recv(4096)
    except BlockingIOError:
        extra = b""
    sock.setblocking(True)
    return reply, extra


@pytest.mark.parametrize("injected", [
    b"RSET\r\n",
    b"MAIL FROM:<attacker@evil.test>\r\n",
    b"MAIL FROM:<attacker@evil.test>\r\nRCPT TO:<bob@localhost>\r\n",
])
def test_starttls_injection_is_never_answered(mxringd, certs, injected):
    """CVE-2011-0411: commands pipelined behind STARTTLS must not run, in plaintext or in TLS."""
    server = tls_server(mxringd, certs)
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        reply, extra = starttls_with(raw, injected)
        assert reply == b"220 2.0.0 Ready to start TLS\r\n"
        assert extra == b""  # nothing answered in plaintext
        with insecure_client_context().wrap_socket(raw, server_hostname="mx.test") as tls:
            # The first reply inside TLS answers our command: the session started over
            # (RFC 3207 §4.2), so MAIL needs a new EHLO and nothing injected ran.
            tls.sendall(b"MAIL FROM:<alice@client.test>\r\n")
            assert read_reply(tls) == b"503 5.5.1 Send HELO/EHLO first\r\n"
            tls.sendall(b"EHLO client.test\r\n")
            assert read_reply(tls).startswith(b"250-mx.test")
            tls.sendall(b"RCPT TO:<bob@localhost>\r\n")
            assert read_reply(tls) == b"503 5.5.1 Need MAIL command\r\n"
            tls.sendall(b"STARTTLS\r\n")
            assert read_reply(tls) == b"503 5.5.1 TLS already active\r\n"
            tls.sendall(b"QUIT\r\n")
            assert read_reply(tls) == b"221 2.0.0 Bye\r\n"
    server.stop()
    assert server.messages_accepted() == 0


@pytest.mark.parametrize("version", ["TLSv1_3", "TLSv1_2"])
def test_quit_inside_tls_ends_with_close_notify(mxringd, certs, version):
    """221, then close_notify (RFC 8446 §6.1) before the TCP close: a client that refuses
    ragged EOFs reads a clean end of stream, with nothing after the 221."""
    server = tls_server(mxringd, certs)
    context = insecure_client_context()
    context.maximum_version = getattr(ssl.TLSVersion, version)
    context.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF  # Debian's Python sets it by default
    for _ in range(3):
        with socket.create_connection((server.host, server.port), timeout=10) as raw:
            reply, extra = starttls_with(raw, b"")
            assert reply.startswith(b"220 ") and extra == b""
            tls = context.wrap_socket(raw, server_hostname="mx.test",
                                      suppress_ragged_eofs=False)
            tls.sendall(b"EHLO client.test\r\n")
            assert read_reply(tls).startswith(b"250-mx.test")
            tls.sendall(b"QUIT\r\n")
            assert read_reply(tls) == b"221 2.0.0 Bye\r\n"
            assert tls.recv(4096) == b""  # close_notify; a bare FIN raises SSLEOFError
            assert tls.version() == version.replace("_", ".")
    server.stop()


def test_handshake_garbage_closes_only_that_connection(mxringd, certs):
    server = tls_server(mxringd, certs)
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        reply, _ = starttls_with(raw, b"")
        assert reply.startswith(b"220 ")
        raw.sendall(b"\x16\x03\x01\x00\x05hello, not a ClientHello" + bytes(range(256)) * 4)
        raw.settimeout(10)
        rest = b""
        while chunk := raw.recv(4096):
            rest += chunk
        assert not rest.startswith(b"250") and b"\r\n" not in rest  # an alert at most, then EOF
    with socket.create_connection((server.host, server.smtps_port), timeout=10) as raw:
        raw.sendall(b"EHLO plaintext.on.smtps\r\n")  # not TLS at all
        raw.settimeout(10)
        rest = b""
        while chunk := raw.recv(4096):
            rest += chunk
        assert b"250" not in rest
    result = s_client(server.port, "-tls1_3")
    assert negotiated(result)[0] == "TLSv1.3"
    server.stop()


def test_client_renegotiation_is_refused(mxringd, certs):
    """A TLS 1.2 client may ask for a new handshake at any time, and each costs the server a
    key exchange and a signature: repeated on one connection, a CPU exhaustion
    (CVE-2011-1473). mxringd answers the request with an alert and closes that connection;
    nothing sent after it is answered, and the server goes on serving."""
    server = tls_server(mxringd, certs)
    # s_client's "R" line asks for renegotiation (when neither -quiet nor -ign_eof is given).
    process = subprocess.Popen(["openssl", "s_client", "-starttls", "smtp", "-tls1_2",
                                "-connect", f"127.0.0.1:{server.port}"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    out, deadline = b"", time.monotonic() + 30

    def read_until(marker):
        nonlocal out
        while marker not in out and time.monotonic() < deadline:
            if select.select([process.stdout], [], [], 1)[0]:
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    return
                out += chunk

    try:
        # REQUIRETLS: the EHLO answered inside TLS (s_client prints the last line of its own
        # plaintext one too).
        for line, answer in ((b"EHLO client.test\r\n", b"250-REQUIRETLS"),
                             (b"R\n", b"RENEGOTIATING"), (b"NOOP\r\n", b"never")):
            process.stdin.write(line)
            process.stdin.flush()
            read_until(answer)
    except BrokenPipeError:
        pass  # s_client already gave up on the closed connection
    finally:
        process.kill()
        process.wait()
    assert b"250-REQUIRETLS" in out and b"RENEGOTIATING" in out, out
    assert b"250 2.0.0" not in out.split(b"RENEGOTIATING")[1]  # NOOP never answered
    assert negotiated(s_client(server.port, "-tls1_2"))[0] == "TLSv1.2"


def tls_session_over_starttls(port, context, session=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    read_reply(raw)
    raw.sendall(b"EHLO client.test\r\n")
    read_reply(raw)
    raw.sendall(b"STARTTLS\r\n")
    read_reply(raw)
    tls = context.wrap_socket(raw, server_hostname="mx.test", session=session)
    tls.sendall(b"EHLO client.test\r\n")
    read_reply(tls)  # a TLS 1.3 ticket arrives with or before this reply
    reused = tls.session_reused
    new_session = tls.session
    tls.sendall(b"QUIT\r\n")
    read_reply(tls)
    tls.close()
    return reused, new_session


def test_session_tickets_resume_on_every_reactor(mxringd, certs):
    server = tls_server(mxringd, certs, "--threads", "2")
    context = insecure_client_context()
    reused, session = tls_session_over_starttls(server.port, context)
    assert not reused
    results = []
    for _ in range(12):  # the kernel spreads these over both reactors
        reused, session = tls_session_over_starttls(server.port, context, session)
        results.append(reused)
    assert all(results), results
    server.stop()
    log = server.output()
    per_reactor = [int(line.split("tls_handshakes=")[1].split()[0])
                   for line in log.splitlines() if "reactor stopped:" in line]
    assert len(per_reactor) == 2 and sum(per_reactor) == 13


def test_sighup_swaps_certificates_and_keeps_open_connections(mxringd, certs, tmp_path):
    cert, key = tmp_path / "live.pem", tmp_path / "live.key"
    shutil.copy(certs["ec"][0], cert)
    shutil.copy(certs["ec"][1], key)
    server = mxringd("--tls-cert", str(cert), "--tls-key", str(key))
    held = smtplib.SMTP(server.host, server.port, local_hostname="client.test")
    held.starttls(context=insecure_client_context())
    held.ehlo()
    before = s_client(server.port, "-servername", "mx.test").stdout.decode()
    assert "subject=CN = mx.test" in before
    shutil.copy(certs["replacement"][0], cert)
    shutil.copy(certs["replacement"][1], key)
    server.signal(signal.SIGHUP)
    server.wait_for_output("reloaded")
    after = s_client(server.port, "-servername", "renewed.test").stdout.decode()
    assert "subject=CN = mx.test" in after and "renewed.test" not in before
    assert b"DNS:renewed.test" in subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName"],
        input=after.split("Server certificate\n")[1].encode(), capture_output=True).stdout
    # The connection opened before the reload still delivers.
    held.sendmail("alice@client.test", ["bob@localhost"], b"Subject: held\r\n\r\nx\r\n")
    held.quit()
    # A broken certificate at SIGHUP is refused and the server keeps the last good one.
    cert.write_text("not a certificate\n")
    server.signal(signal.SIGHUP)
    server.wait_for_output("reload failed")
    assert "reload failed" in server.output()
    assert negotiated(s_client(server.port, "-tls1_3"))[0] == "TLSv1.3"
    assert server.stop() == 0
    assert server.messages_accepted() == 1


def test_a_reload_cannot_take_the_certificate_from_an_smtps_listener(mxringd, certs, tmp_path):
    """mxringd refuses to start an smtps listener without a certificate; a reload that drops
    the certificates is refused the same way, since the listener could only close every
    connection it took (TLS comes first there, RFC 8314 §3.3)."""
    config = tmp_path / "mxringd.toml"
    config.write_text(f'tls_cert = ["{certs["ec"][0]}"]\ntls_key = ["{certs["ec"][1]}"]\n')
    smtps_port = free_port()
    server = mxringd("--config", str(config), "--listen", f"127.0.0.1:{smtps_port}:smtps")
    assert negotiated(s_client(smtps_port, starttls=False))[0] in ("TLSv1.2", "TLSv1.3")
    config.write_text("max_recipients = 5\n")
    server.signal(signal.SIGHUP)
    assert server.wait_for_output("reload failed")
    assert (f"a reload cannot leave smtps listener 127.0.0.1:{smtps_port} without a certificate"
            in server.output())
    assert negotiated(s_client(smtps_port, starttls=False))[0] in ("TLSv1.2", "TLSv1.3")
    assert negotiated(s_client(server.port))[0] in ("TLSv1.2", "TLSv1.3")  # STARTTLS kept too


def test_smtps_without_certificate_refuses_to_start(tmp_path):
    port = free_port()
    result = subprocess.run([MXRINGD, "--listen", f"127.0.0.1:{port}:smtps", "--durability",
                             "discard"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "no certificate" in result.stdout + result.stderr


def test_mismatched_key_is_refused_at_start(certs):
    result = subprocess.run([MXRINGD, "--listen", f"127.0.0.1:{free_port()}", "--durability",
                             "discard", "--tls-cert", certs["ec"][0], "--tls-key", certs["rsa"][1]],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "does not match" in result.stdout + result.stderr
