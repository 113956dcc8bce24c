"""SMTP at the socket level, for tests that must send exactly the bytes they mean (pipelined,
malformed or hostile) and read exactly what comes back; and the other side of that, a
loopback server of the test's own for clients under test."""
import contextlib
import socket
import socketserver
import threading


@contextlib.contextmanager
def threaded_server(handler):
    """A loopback server on a free port whose connections `handler` (a
    socketserver.StreamRequestHandler class) serves, each in a thread of its own; yields the
    port. A handler still blocked at the end does not hold the test."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def connect(server, source="127.0.0.1", port=None, timeout=10):
    return socket.create_connection((server.host, port or server.port), timeout=timeout,
                                    source_address=(source, 0))


def read_reply(sock):
    """One whole reply (all lines), as text; empty string at EOF."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data.decode()
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            return data.decode()


def read_replies(sock, count):
    """The next `count` replies (pipelined ones arrive together), each as text with all its
    lines; fewer if the server closes first."""
    data, replies = b"", []
    while len(replies) < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        while len(replies) < count:
            end = _final_line_end(data)
            if end < 0:
                break
            replies.append(data[:end].decode())
            data = data[end:]
    return replies


def _final_line_end(data):
    """Where the first whole reply in `data` ends (after its last line's CRLF), or -1."""
    start = 0
    while (end := data.find(b"\r\n", start)) >= 0:
        if data[start + 3:start + 4] != b"-":
            return end + 2
        start = end + 2
    return -1


def ehlo(sock, name=b"client.test"):
    """EHLO, alone (RFC 2920 §3.1: it ends a pipelined group), and its reply."""
    sock.sendall(b"EHLO " + name + b"\r\n")
    assert read_reply(sock).startswith("250")


def send_binarymime(sock, content, sender=b"a@client.test", rcpt=b"bob@localhost"):
    """After EHLO: one BODY=BINARYMIME message (RFC 3030 §3) in one BDAT LAST chunk, pipelined
    with its envelope (smtplib has no BDAT); returns the three replies."""
    sock.sendall(b"MAIL FROM:<" + sender + b"> BODY=BINARYMIME\r\nRCPT TO:<" + rcpt + b">\r\n"
                 + f"BDAT {len(content)} LAST\r\n".encode() + content)
    return read_replies(sock, 3)


# Octets only BINARYMIME carries: a NUL, bare LFs, a bare CR, "\n.\n" and no final line end.
BINARY_CONTENT = b"Subject: binary\r\n\r\n\x00\x01\n.\n\rQUIT\r\n\xff"


def store_binarymime(server, content=BINARY_CONTENT):
    """One BODY=BINARYMIME message into a running mxringd, on a connection of its own; asserts
    it was acknowledged."""
    with connect(server) as s:
        read_reply(s)
        ehlo(s)
        replies = send_binarymime(s, content)
        assert replies[2].startswith("250 2.0.0 Ok: queued as "), replies


def begin_data(sock):
    """EHLO, then MAIL, RCPT and DATA pipelined (RFC 2920 §3.1: EHLO and DATA each end a
    group), and waits for the 354."""
    ehlo(sock)
    sock.sendall(b"MAIL FROM:<a@client.test>\r\nRCPT TO:<b@localhost>\r\nDATA\r\n")
    reply = ""
    while "354 " not in reply:
        reply += read_reply(sock)


def until_eof(sock):
    """Everything the server sends until it closes (a reset counts as the close)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data.decode(errors="replace")
