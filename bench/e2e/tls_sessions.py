#!/usr/bin/env python3
"""Full STARTTLS sessions and bulk DATA over TLS, mxring beside Postfix smtpd in the same run.

A session is: connect, EHLO, STARTTLS, a full TLS 1.3 handshake (no resumption), EHLO, MAIL,
RCPT, DATA with a 10 KiB body, QUIT. The server gets CPU 1, the clients (several processes,
so the server is kept busy) CPU 0. The figure that compares is sessions per server
CPU-second; both servers present the same ECDSA P-256 certificate. mxring stores with fsync
like Postfix's queue, and also runs as a discard sink.

Bulk: one connection sends large messages over TLS; server CPU per MB and MB/s, with
ChaCha20-Poly1305 (TLS 1.3, mxring's first choice) and AES-128-GCM (TLS 1.2).

    taskset -c 0 python3 bench/e2e/tls_sessions.py [--sessions 3000] [--repetitions 3]
"""
import argparse
import json
import multiprocessing
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from measure import (ROOT, SERVER_CPU, cpu_seconds, free_port, mxringd_command, rss_kib,  # noqa: E402
                     start, tree_cpu_seconds, wait_for_port)
from postfix_instance import PostfixInstance  # noqa: E402

BODY = (b"Subject: tls bench\r\n\r\n" + (b"x" * 78 + b"\r\n") * 128)[:10 * 1024] + b"\r\n"

POSTFIX_TLS = """smtpd_tls_security_level = may
smtpd_tls_cert_file = {root}/etc/cert.pem
smtpd_tls_key_file = {root}/etc/key.pem
smtpd_tls_loglevel = 0
smtpd_tls_session_cache_database =
smtpd_tls_received_header = yes
tls_preempt_cipherlist = yes
"""
POSTFIX_TLSMGR = "tlsmgr unix - - n 1000? 1 tlsmgr\n"


def make_certificate(directory):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days",
                    "2", "-subj", "/CN=bench.test"], check=True, capture_output=True)
    os.chmod(key, 0o644)
    return cert, key


def reply(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            return data


def expect(sock, code):
    got = reply(sock)
    if not got.startswith(code):
        raise RuntimeError(f"expected {code}, got {got[:200]!r}")


def starttls(port, context):
    """Connect, EHLO, STARTTLS, the handshake, EHLO again: the TLS socket, ready for MAIL."""
    raw = socket.create_connection(("127.0.0.1", port))
    expect(raw, b"220")
    raw.sendall(b"EHLO client.bench.test\r\n")
    expect(raw, b"250")
    raw.sendall(b"STARTTLS\r\n")
    expect(raw, b"220")
    tls = context.wrap_socket(raw, server_hostname="bench.test")
    tls.sendall(b"EHLO client.bench.test\r\n")
    expect(tls, b"250")
    return tls


def one_session(port, context, body=BODY):
    tls = starttls(port, context)
    tls.sendall(b"MAIL FROM:<sender@client.test>\r\n")
    expect(tls, b"250")
    tls.sendall(b"RCPT TO:<rcpt@localhost>\r\n")
    expect(tls, b"250")
    tls.sendall(b"DATA\r\n")
    expect(tls, b"354")
    tls.sendall(body + b".\r\n")
    expect(tls, b"250")
    tls.sendall(b"QUIT\r\n")
    expect(tls, b"221")
    tls.close()


def client_context(tls12_cipher=None):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if tls12_cipher:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(tls12_cipher)
    return context


def worker(port, count, errors):
    context = client_context()
    for _ in range(count):
        try:
            one_session(port, context)
        except Exception as e:  # counted, and the run is reported as failed
            errors.put(str(e))


def run_sessions(port, sessions, server_cpu, clients):
    errors = multiprocessing.Queue()
    per_client = sessions // clients
    before = server_cpu()
    started = time.monotonic()
    procs = [multiprocessing.Process(target=worker, args=(port, per_client, errors))
             for _ in range(clients)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=900)
    elapsed = time.monotonic() - started
    cpu = server_cpu() - before
    failed = []
    while not errors.empty():
        failed.append(errors.get())
    if failed:
        raise RuntimeError(f"{len(failed)} sessions failed, e.g. {failed[0]}")
    done = per_client * clients
    return {"sessions_per_s": done / elapsed, "server_cpu_ms_per_session": cpu * 1e3 / done,
            "sessions_per_server_cpu_s": done / cpu if cpu > 0 else 0.0}


def bulk(port, megabytes, server_cpu, tls12_cipher=None):
    """One connection, 1 MiB messages over TLS: MB/s and server CPU per MB."""
    context = client_context(tls12_cipher)
    body = (b"y" * 998 + b"\r\n") * 1048
    tls = starttls(port, context)
    cipher = tls.cipher()[0]
    before = server_cpu()
    started = time.monotonic()
    for _ in range(megabytes):
        tls.sendall(b"MAIL FROM:<sender@client.test>\r\nRCPT TO:<rcpt@localhost>\r\nDATA\r\n")
        reply(tls)
        tls.sendall(body + b".\r\n")
        expect(tls, b"250")
    elapsed = time.monotonic() - started
    cpu = server_cpu() - before
    tls.sendall(b"QUIT\r\n")
    reply(tls)
    tls.close()
    mb = megabytes * len(body) / 1e6
    return {"cipher": cipher, "mb_per_s": mb / elapsed, "server_cpu_ms_per_mb": cpu * 1e3 / mb}


def start_mxring(cert, key, durability, spool):
    port = free_port()
    command = mxringd_command(port, durability, spool, "--tls-cert", cert, "--tls-key", key,
                              "--max-message-size", "104857600")
    server = start(command, cpu=SERVER_CPU, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wait_for_port(port)
    time.sleep(0.3)
    return server, port


def measure_mxring(cert, key, durability, sessions, clients, do_bulk):
    spool = tempfile.mkdtemp(prefix="mxring-tls-bench-", dir=os.path.join(ROOT, "build"))
    server, port = start_mxring(cert, key, durability, spool)
    try:
        result = run_sessions(port, sessions, lambda: cpu_seconds(server.pid), clients)
        if do_bulk:
            result["bulk_chacha20"] = bulk(port, 200, lambda: cpu_seconds(server.pid))
            result["bulk_aes128gcm"] = bulk(port, 100, lambda: cpu_seconds(server.pid),
                                            "ECDHE-ECDSA-AES128-GCM-SHA256")
        return result
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(spool, ignore_errors=True)


def measure_postfix(cert, key, sessions, clients):
    port = free_port()
    instance = PostfixInstance(port, cpu=SERVER_CPU, parent=None, main_extra=POSTFIX_TLS,
                               master_extra=POSTFIX_TLSMGR)
    shutil.copy(cert, os.path.join(instance.etc, "cert.pem"))
    shutil.copy(key, os.path.join(instance.etc, "key.pem"))
    try:
        master = instance.master_pid()
        wait_for_port(port)
        return run_sessions(port, sessions, lambda: tree_cpu_seconds(master), clients)
    finally:
        instance.stop()


def tls_memory(cert, key, connections=2000):
    """RSS per established, idle TLS connection (after EHLO inside TLS)."""
    server, port = start_mxring(cert, key, "discard", None)
    try:
        context = client_context()
        base = rss_kib(server.pid)
        held = []
        for _ in range(connections):
            held.append(starttls(port, context))
        time.sleep(0.5)
        per = (rss_kib(server.pid) - base) * 1024 / connections
        for tls in held:
            tls.close()
        return {"connections": connections, "bytes_per_tls_connection": round(per)}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="tls-bench-")
    cert, key = make_certificate(workdir)
    runs = {"mxring-fsync": [], "mxring-discard": [], "postfix-smtpd": []}
    for rep in range(args.repetitions):  # interleaved, so drift hits all alike
        runs["mxring-fsync"].append(measure_mxring(cert, key, "fsync", args.sessions,
                                                   args.clients, rep == 0))
        runs["mxring-discard"].append(measure_mxring(cert, key, "discard", args.sessions,
                                                     args.clients, False))
        runs["postfix-smtpd"].append(measure_postfix(cert, key, args.sessions // 3,
                                                     args.clients))
    result = {}
    for name, samples in runs.items():
        result[name] = {k: round(statistics.median(s[k] for s in samples), 3)
                        for k in ("sessions_per_s", "server_cpu_ms_per_session",
                                  "sessions_per_server_cpu_s")}
    result["bulk"] = {k: runs["mxring-fsync"][0][k] for k in ("bulk_chacha20", "bulk_aes128gcm")}
    result["memory"] = tls_memory(cert, key)
    result["ratio_sessions_per_server_cpu_s_vs_postfix"] = round(
        result["mxring-fsync"]["sessions_per_server_cpu_s"]
        / result["postfix-smtpd"]["sessions_per_server_cpu_s"], 2)
    shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
        return
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
