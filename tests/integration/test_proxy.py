"""PROXY protocol listeners behind a real HAProxy (Debian's): with send-proxy (v1) and
send-proxy-v2 the stored envelope carries the original client's address and names the
balancer; with HAProxy terminating TLS, the v2 TLVs (TLS version, cipher, SNI) are recorded.
Connections from sources not in --proxy-trusted are refused; malformed, lying and absent
headers are refused without crashing, and mail still flows afterwards. XCLIENT (Postfix's
attributes) names the client for trusted proxies only."""
import json
import os
import re
import smtplib
import socket
import ssl
import struct
import subprocess
import time

import pytest

from certificates import make_certificate
from conftest import MXRINGD, free_port
from spool_cli import spool, stored_ids, stored_records

CLIENT = "127.0.0.5"    # the mail client's own address
BALANCER = "127.0.0.9"  # HAProxy's address towards mxringd


class HAProxy:
    def __init__(self, workdir, backend_port, server_options, bind_options=""):
        self.port = free_port()
        config = os.path.join(workdir, f"haproxy-{self.port}.cfg")
        with open(config, "w") as f:
            f.write(f"""global
    maxconn 200
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend smtp
    bind 127.0.0.1:{self.port} {bind_options}
    default_backend mx
backend mx
    server mx 127.0.0.1:{backend_port} source {BALANCER} {server_options}
""")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"haproxy: {self.process.stderr.read()}")
                time.sleep(0.05)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def haproxy(tmp_path):
    started = []

    def start(*args, **kwargs):
        h = HAProxy(str(tmp_path), *args, **kwargs)
        started.append(h)
        return h

    yield start
    for h in started:
        h.stop()


def send_through(port, smtp_class=smtplib.SMTP, **kwargs):
    with smtp_class("127.0.0.1", port, source_address=(CLIENT, 0),
                    local_hostname="client.test", **kwargs) as c:
        c.ehlo()
        c.mail("alice@client.test")
        c.rcpt("bob@localhost")
        code, text = c.data(b"Subject: behind a balancer\r\n\r\nhello\r\n")
        assert code == 250, text
        return text.split()[-1].decode()


def envelope_of(tmp_path, queue_id):
    return json.loads(spool(tmp_path / "spool", "show", queue_id).stdout)


def start_proxy_mxringd(mxringd, tmp_path, *extra):
    port = free_port()
    server = mxringd("--listen", f"127.0.0.1:{port}:smtp+proxy", "--proxy-trusted",
                     f"{BALANCER}/32", "--durability", "fsync", "--spool",
                     str(tmp_path / "spool"), *extra)
    return server, port


@pytest.mark.parametrize("version", ["send-proxy", "send-proxy-v2"])
def test_haproxy_passes_the_original_client_address(mxringd, haproxy, tmp_path, version):
    server, port = start_proxy_mxringd(mxringd, tmp_path)
    balancer = haproxy(port, version)
    queue_id = send_through(balancer.port)
    server.stop()
    envelope = envelope_of(tmp_path, queue_id)
    assert envelope["client"]["address"] == CLIENT
    assert envelope["proxy"]["peer"].startswith(BALANCER + ":")
    stored = spool(tmp_path / "spool", "cat", queue_id).stdout
    assert stored.startswith(b"Received: from client.test ([" + CLIENT.encode() + b"])")
    # The log names the client too, and the balancer that named it.
    [line] = [json.loads(l) for l in server.output().splitlines()
              if '"event":"transaction"' in l]
    assert line["queue_id"] == queue_id and line["client"] == CLIENT
    assert line["proxy"].startswith(BALANCER + ":")


def test_tls_terminated_at_haproxy_is_recorded_from_the_v2_tlvs(mxringd, haproxy, tmp_path):
    cert, key = make_certificate(str(tmp_path), "mx", ["mx.test"])
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(open(cert, "rb").read() + open(key, "rb").read())
    server, port = start_proxy_mxringd(mxringd, tmp_path)
    balancer = haproxy(port, "send-proxy-v2 proxy-v2-options ssl,ssl-cipher,authority",
                       bind_options=f"ssl crt {bundle}")
    context = ssl.create_default_context(cafile=cert)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    with socket.create_connection(("127.0.0.1", balancer.port),
                                  source_address=(CLIENT, 0)) as raw:
        with context.wrap_socket(raw, server_hostname="mx.test") as tls:
            smtp = smtplib.SMTP()
            smtp.sock = tls
            smtp.file = None
            assert smtp.getreply()[0] == 220
            smtp.ehlo("client.test")
            smtp.mail("alice@client.test")
            smtp.rcpt("bob@localhost")
            code, text = smtp.data(b"Subject: tls at the edge\r\n\r\nhi\r\n")
            assert code == 250
            smtp.quit()
    server.stop()
    envelope = envelope_of(tmp_path, text.split()[-1].decode())
    assert envelope["client"]["address"] == CLIENT
    assert envelope["proxy"]["authority"] == "mx.test"
    assert envelope["proxy"]["tls_version"] == "TLSv1.3"
    assert envelope["proxy"]["tls_cipher"].startswith("TLS_")
    assert envelope["tls"] is None  # mxringd itself spoke plaintext to the balancer
    [line] = [json.loads(l) for l in server.output().splitlines()
              if '"event":"transaction"' in l]
    assert line["proxy_tls"] == "TLSv1.3" and line["proxy_authority"] == "mx.test"
    assert line["proxy_cipher"] == envelope["proxy"]["tls_cipher"]


def raw_exchange(port, payload, *turns, source=BALANCER, timeout=5):
    """Sends `payload` from `source`, then each of `turns`, (replies, octets), once that many
    replies have come, the greeting included (RFC 2920 §3.1: a client waits for the answers
    to EHLO and DATA); returns everything received until the server closes."""
    with socket.create_connection(("127.0.0.1", port), source_address=(source, 0),
                                  timeout=timeout) as s:
        s.sendall(payload)
        received = b""
        for replies, octets in turns:
            while len(re.findall(rb"(?m)^\d{3} ", received)) < replies:
                chunk = s.recv(4096)
                if not chunk:
                    return received
                received += chunk
            s.sendall(octets)
        while True:
            try:
                chunk = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            received += chunk
        return received


V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
# A client's turns: each waits for the answer to the one before.
TRANSACTION = (b"EHLO x.test\r\n",
               (2, b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@localhost>\r\nDATA\r\n"),
               (5, b"Subject: ok\r\n\r\nok\r\n.\r\nQUIT\r\n"))


def v2_header(body, command=0x21, family=0x11):
    return V2_SIGNATURE + bytes([command, family]) + struct.pack(">H", len(body)) + body


@pytest.mark.parametrize("payload", [
    b"EHLO no-header.test\r\n",                                     # a client, no header
    b"PROXY TCP4 192.0.2.1 127.0.0.1 1 2\r\n"[:20] + b"\r\n",         # cut short
    b"PROXY TCP4 999.1.1.1 127.0.0.1 1000 25\r\nEHLO x\r\n",          # not an address
    b"PROXY TCP6 192.0.2.1 127.0.0.1 1000 25\r\n",                    # wrong family
    b"PROXY TCP4 192.0.2.1 127.0.0.1 99999 25\r\n",                   # port out of range
    b"PROXY " + b"A" * 200 + b"\r\n",                                 # longer than v1 allows
    v2_header(b"\x00" * 12, family=0x31),                             # UNIX socket
    V2_SIGNATURE + b"\x21\x11\xff\xff" + b"\x00" * 64,                # lying length
    v2_header(b"\xc0\x00\x02\x01\x7f\x00\x00\x01\x04\x00\x00\x19" + b"\x02\x00\x09ab"),  # TLV overrun
    bytes(range(256)),                                                 # binary garbage
])
def test_malformed_headers_are_refused_without_a_word(mxringd, tmp_path, payload):
    server, port = start_proxy_mxringd(mxringd, tmp_path, "--command-timeout", "2")
    assert raw_exchange(port, payload) == b""
    assert server.process.poll() is None
    # A proper header still gets through afterwards, with the address it names.
    reply = raw_exchange(port, b"PROXY TCP4 192.0.2.44 127.0.0.1 4000 25\r\n" + TRANSACTION[0],
                         *TRANSACTION[1:])
    assert b"250 2.0.0 Ok: queued as" in reply
    server.stop()
    assert envelope_of(tmp_path, stored_ids(tmp_path / "spool")[0])["client"]["address"] == \
        "192.0.2.44"


def test_v2_local_and_v1_unknown_keep_the_balancers_address(mxringd, tmp_path):
    server, port = start_proxy_mxringd(mxringd, tmp_path)
    for header in (v2_header(b"", command=0x20, family=0), b"PROXY UNKNOWN\r\n"):
        assert b"queued as" in raw_exchange(port, header + TRANSACTION[0], *TRANSACTION[1:])
    server.stop()
    for queue_id in stored_ids(tmp_path / "spool"):
        assert envelope_of(tmp_path, queue_id)["client"]["address"] == BALANCER


def tlv(kind, value):
    return bytes([kind]) + struct.pack(">H", len(value)) + value


def test_tlv_names_are_kept_only_as_printable_ascii(mxringd, tmp_path):
    """The authority TLV is the host name the client asked the balancer for, handed on as
    the client sent it: a line break in it went into the envelope and Kafka's headers.
    Kept only when printable ASCII, as the TLS server name is."""
    server, port = start_proxy_mxringd(mxringd, tmp_path)
    addresses = b"\xc0\x00\x02\x2c\x7f\x00\x00\x01\x0f\xa0\x00\x19"  # 192.0.2.44:4000
    for authority in (b"mx.test", b"bad\r\nX-Authority: 1"):
        ssl = tlv(0x20, b"\x01\x00\x00\x00\x00" + tlv(0x21, b"TLSv1.3"))
        header = v2_header(addresses + tlv(0x02, authority) + ssl)
        assert b"queued as" in raw_exchange(port, header + TRANSACTION[0], *TRANSACTION[1:])
    server.stop()
    proxies = [envelope_of(tmp_path, queue_id)["proxy"]
               for queue_id in stored_ids(tmp_path / "spool")]
    assert sorted(p["authority"] or "" for p in proxies) == ["", "mx.test"]
    assert [p["tls_version"] for p in proxies] == ["TLSv1.3", "TLSv1.3"]


def v1_header(client):
    """The PROXY v1 line a balancer sends for `client` (IPv4 or IPv6)."""
    family, listener = ("TCP6", "::1") if ":" in client else ("TCP4", "127.0.0.1")
    return f"PROXY {family} {client} {listener} 4000 25\r\n".encode()


def held_connection(port, client):
    """A connection the balancer opened for `client` (PROXY v1), past its greeting, or the
    one-line refusal it got instead (then closed)."""
    s = socket.create_connection(("127.0.0.1", port), source_address=(BALANCER, 0), timeout=10)
    s.sendall(v1_header(client))
    return s, s.recv(4096).decode()


@pytest.mark.parametrize("prefix", [None, "128"])
def test_an_ipv6_client_is_counted_by_its_network(mxringd, tmp_path, prefix):
    """One IPv6 host has a /64 of addresses to connect from: counted one by one, a single
    host could open every connection slot there is past --max-connections-per-ip. As Postfix
    3.8 does (smtpd_client_ipv6_prefix_length), an IPv6 client counts by its /84 in every
    per-address cap and limit; --client-ipv6-prefix 128 counts each address alone."""
    extra = ["--max-connections-per-ip", "2", "--message-rate-per-ip", "2"]
    server, port = start_proxy_mxringd(mxringd, tmp_path, *extra,
                                       *(["--client-ipv6-prefix", prefix] if prefix else []))
    held = [held_connection(port, f"2001:db8::{i}") for i in (1, 2)]
    assert all(greeting.startswith("220 ") for _, greeting in held)
    _, third = held_connection(port, "2001:db8::3")
    # Beyond the /84 (the sixth group's first four bits differ): another client.
    _, elsewhere = held_connection(port, "2001:db8::1000:0:1")
    _, ipv4 = held_connection(port, "192.0.2.7")  # not IPv6: still one address
    assert elsewhere.startswith("220 ") and ipv4.startswith("220 ")
    full = "421 4.7.0 Too many connections from your address, try again later\r\n"
    assert third == (full if prefix is None else third)
    if prefix is not None:
        assert third.startswith("220 ")

    def deliver(client):
        return raw_exchange(port, v1_header(client) + TRANSACTION[0], *TRANSACTION[1:])

    # Another /84 (the held connections keep theirs full), three addresses in it.
    results = [deliver(f"2001:db8:1::{i}:5") for i in range(1, 4)]
    for s, _ in held:
        s.close()
    assert all(b"queued as" in r for r in results[:2])
    if prefix is None:  # the third message from the same /84 is over its rate
        assert b"450 4.7.1" in results[2] and b"queued as" not in results[2]
    else:
        assert b"queued as" in results[2]
    server.stop()


def test_untrusted_sources_are_refused_and_the_header_must_come_in_time(mxringd, tmp_path):
    server, port = start_proxy_mxringd(mxringd, tmp_path, "--command-timeout", "1")
    header = b"PROXY TCP4 192.0.2.1 127.0.0.1 1000 25\r\nEHLO x\r\n"
    assert raw_exchange(port, header, source=CLIENT) == b""
    assert server.wait_for_output(f"connection from {CLIENT} refused (not a trusted proxy)")
    started = time.monotonic()
    assert raw_exchange(port, b"", timeout=10) == b""  # says nothing: closed at the timeout
    assert time.monotonic() - started < 8
    assert b"250" in raw_exchange(port, header)


def test_a_proxy_listener_without_trusted_sources_does_not_start():
    result = subprocess.run([MXRINGD, "--listen", "127.0.0.1:2999:smtp+proxy", "--check-config"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "--proxy-trusted" in result.stderr


def test_xclient_from_a_trusted_proxy_names_the_client(mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"),
                     "--xclient-trusted", f"{BALANCER}/32")
    with smtplib.SMTP(server.host, server.port, source_address=(BALANCER, 0),
                      local_hostname="proxy.test") as c:
        c.ehlo()
        assert c.has_extn("xclient")
        assert c.esmtp_features["xclient"] == "NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT"
        code, text = c.docmd("XCLIENT", "ADDR=IPV6:2001:db8::7 PORT=4711 NAME=mail.client.test "
                                        "PROTO=ESMTP HELO=client+2Etest LOGIN=alice")
        assert code == 220 and b"ESMTP mxring" in text  # the greeting again (XCLIENT_README)
        c.ehlo_resp = None
        c.ehlo("client.test")
        c.sendmail("a@client.test", ["bob@localhost"], b"Subject: via xclient\r\n\r\nx\r\n")
    server.stop()
    [(envelope, body)] = stored_records(tmp_path / "spool")
    assert envelope["client"] == {"address": "2001:db8::7", "port": 4711}
    assert envelope["proxy"]["via"] == "xclient"
    assert envelope["proxy"]["client_name"] == "mail.client.test"
    assert envelope["proxy"]["peer"].startswith(BALANCER + ":")
    assert envelope["auth"] == "alice"
    assert envelope["helo"] == "client.test"
    assert b"2001:db8::7" in body.split(b"\r\n\r\n")[0]  # the Received header names it


def test_xclient_values_with_control_characters_are_refused(mxringd, tmp_path):
    """XCLIENT's values are xtext: +0D+0A decodes to CR LF. A HELO carrying one went into the
    Received field's comment and began a header line of the client's making (a trusted
    proxy passes on what its own client, or a PTR record, said); NAME and LOGIN went into the
    envelope and Kafka headers. Refused, 501, and the session is the proxy's still."""
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"),
                     "--xclient-trusted", f"{BALANCER}/32")
    with smtplib.SMTP(server.host, server.port, source_address=(BALANCER, 0),
                      local_hostname="proxy.test") as c:
        c.ehlo()
        for attribute in ("HELO=evil+0D+0AX-Injected:+201", "NAME=bad+0D+0Aname",
                          "LOGIN=u+0AX", "HELO=tab+09here", "NAME=nul+00"):
            assert c.docmd("XCLIENT", f"ADDR=192.0.2.9 {attribute}")[0] == 501, attribute
        c.sendmail("a@client.test", ["bob@localhost"], b"Subject: x\r\n\r\nx\r\n")
    server.stop()
    [(envelope, body)] = stored_records(tmp_path / "spool")
    assert envelope["client"]["address"] == BALANCER and envelope["proxy"] is None
    header = body.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert header[0].startswith(b"Received: from proxy.test")
    assert all(line.startswith(b"\t") for line in header[1:-1])  # folded lines of it alone
    assert header[-1] == b"Subject: x"


def test_xclient_from_anyone_else_is_refused_and_changes_nothing(mxringd, tmp_path):
    server = mxringd("--durability", "fsync", "--spool", str(tmp_path / "spool"),
                     "--xclient-trusted", f"{BALANCER}/32")
    with smtplib.SMTP(server.host, server.port, source_address=(CLIENT, 0)) as c:
        c.ehlo()
        assert not c.has_extn("xclient")
        assert c.docmd("XCLIENT", "ADDR=192.0.2.1")[0] == 550
        c.sendmail("a@client.test", ["bob@localhost"], b"Subject: direct\r\n\r\nx\r\n")
    with smtplib.SMTP(server.host, server.port, source_address=(BALANCER, 0)) as c:
        c.ehlo()
        assert c.docmd("XCLIENT", "ADDR=not-an-address")[0] == 501
        assert c.docmd("XCLIENT", "COLOUR=blue")[0] == 501
        c.mail("a@client.test")
        assert c.docmd("XCLIENT", "ADDR=192.0.2.1")[0] == 503  # not inside a transaction
    server.stop()
    [(envelope, _)] = stored_records(tmp_path / "spool")
    assert envelope["client"]["address"] == CLIENT and envelope["proxy"] is None
