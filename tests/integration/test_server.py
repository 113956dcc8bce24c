"""mxringd as a server: many concurrent clients, connection caps, clients that vanish,
timeouts, SIGTERM drain and SIGHUP reload (hostile clients: test_hostile.py)."""
import re
import resource
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from smtp_wire import begin_data, connect, read_reply, until_eof


def send_one(server, index, barrier=None):
    with smtplib.SMTP(server.host, server.port, local_hostname="client.test", timeout=60) as c:
        if barrier is not None:
            barrier.wait(timeout=60)  # every connection is open at once before any sends
        c.ehlo()
        c.mail(f"sender{index}@client.test")
        c.rcpt(f"rcpt{index}@localhost")
        code, text = c.data(f"Subject: {index}\r\n\r\nmessage {index}\r\n")
        return code, text


def test_thousand_concurrent_connections_each_deliver(mxringd):
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 2500:
        pytest.skip("needs a file-descriptor hard limit of 2,500 (client and server side)")
    server = mxringd("--max-connections-per-ip", "2000")
    barrier = threading.Barrier(1000)
    with ThreadPoolExecutor(max_workers=1000) as pool:
        results = list(pool.map(lambda i: send_one(server, i, barrier), range(1000)))
    assert all(code == 250 and text.startswith(b"2.0.0 Ok: discarded as ") for code, text in results)
    assert len({text for _, text in results}) == 1000  # every queue id distinct
    assert server.stop() == 0
    assert server.messages_accepted() == 1000


def test_global_connection_cap_answers_421(mxringd):
    server = mxringd("--max-connections", "3")
    held = [connect(server) for _ in range(3)]
    for s in held:
        assert read_reply(s).startswith("220 mx.test ESMTP")
    extra = connect(server)
    assert until_eof(extra) == "421 4.7.0 Too many connections, try again later\r\n"
    held[0].close()
    deadline = time.monotonic() + 10
    while True:  # the slot comes back once the server has seen the close
        s = connect(server)
        reply = read_reply(s)
        if reply.startswith("220"):
            break
        assert time.monotonic() < deadline, reply
        time.sleep(0.05)
    server.stop()


def test_per_client_cap_counts_each_address(mxringd):
    server = mxringd("--max-connections-per-ip", "2")
    held = [connect(server) for _ in range(2)]
    for s in held:
        assert read_reply(s).startswith("220")
    assert until_eof(connect(server)) == \
        "421 4.7.0 Too many connections from your address, try again later\r\n"
    other = connect(server, source="127.0.0.2")  # another client address is not affected
    assert read_reply(other).startswith("220")
    server.stop()


def test_client_vanishing_mid_data_leaves_no_message_and_no_slot(mxringd):
    server = mxringd("--max-connections", "1")
    s = connect(server)
    read_reply(s)
    begin_data(s)
    s.sendall(b"Subject: cut short\r\n\r\nhalf a mess")
    s.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            code, text = send_one(server, 1)
            break
        except smtplib.SMTPConnectError:  # refused with 421: the slot is not released yet
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert code == 250
    assert server.stop() == 0
    assert server.messages_accepted() == 1


def test_idle_client_times_out_with_421(mxringd):
    server = mxringd("--command-timeout", "1")
    s = connect(server)
    assert read_reply(s).startswith("220")
    s.sendall(b"EHLO client.test\r\n")
    read_reply(s)
    answered = time.monotonic()
    s.sendall(b"NOO")  # a partial command does not keep the session alive
    assert until_eof(s) == "421 4.4.2 mx.test Error: timeout exceeded\r\n"
    # Never sooner than asked: the clock counts whole seconds, and a deadline one second
    # into it once fired within milliseconds of the EHLO's answer.
    assert time.monotonic() - answered >= 1.0
    server.stop()


def test_slow_data_below_the_minimum_rate_is_cut(mxringd):
    """Slowloris in DATA: a trickle that stays under --min-data-rate once the grace period is
    over gets 421 and the connection ends; nothing is stored."""
    server = mxringd("--min-data-rate", "100000", "--min-rate-grace", "1")
    s = connect(server)
    read_reply(s)
    begin_data(s)
    answer = ""
    for _ in range(40):  # at most 20 s of trickling
        try:
            s.sendall(b"x")
        except OSError:
            break
        time.sleep(0.5)
        s.settimeout(0.01)
        try:
            answer += s.recv(4096).decode()
        except socket.timeout:
            pass
        s.settimeout(10)
        if answer:
            break
    assert answer == "421 4.4.2 mx.test Error: timeout exceeded\r\n"
    server.stop()
    assert server.messages_accepted() == 0


def test_ipv6_listener(mxringd):
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))
        port = probe.getsockname()[1]
    server = mxringd("--listen", f"[::1]:{port}")  # beside the fixture's IPv4 listener
    assert f"::1:{port} (smtp)" in server.output()
    with smtplib.SMTP("::1", port, local_hostname="client.test") as c:
        c.ehlo()
        c.mail("a@client.test")
        c.rcpt("b@localhost")
        code, _ = c.data("Subject: v6\r\n\r\nhi\r\n")
        assert code == 250
    assert server.stop() == 0
    assert server.messages_accepted() == 1


def test_sigterm_finishes_open_transactions_then_exits_zero(mxringd):
    server = mxringd("--shutdown-grace", "30")
    busy, idle = connect(server), connect(server)
    read_reply(busy), read_reply(idle)
    idle.sendall(b"EHLO client.test\r\n")
    read_reply(idle)
    begin_data(busy)
    busy.sendall(b"Subject: drain\r\n\r\nfirst half")
    server.signal(signal.SIGTERM)
    assert until_eof(idle) == "421 4.3.2 mx.test Service shutting down\r\n"
    # Each reactor stops accepting as it takes the signal: soon connecting fails, and until
    # then a connection that slips in is turned away, never served.
    deadline = time.monotonic() + 10
    while True:
        try:
            late = connect(server)
        except OSError:
            break
        try:
            assert until_eof(late) in ("", "421 4.3.2 mx.test Service shutting down\r\n")
        except ConnectionResetError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.05)
    busy.sendall(b", second half\r\n.\r\n")
    rest = until_eof(busy)
    assert rest.startswith("250 2.0.0 Ok: discarded as ")
    assert rest.endswith("421 4.3.2 mx.test Service shutting down\r\n")
    assert server.process.wait(timeout=30) == 0
    assert server.messages_accepted() == 1


def test_a_transaction_still_open_when_the_grace_ends_gets_421_no_sooner(mxringd):
    server = mxringd("--shutdown-grace", "2")
    busy = connect(server)
    read_reply(busy)
    begin_data(busy)
    busy.sendall(b"Subject: slow\r\n\r\nnever finished")
    signalled = time.monotonic()
    server.signal(signal.SIGTERM)
    assert until_eof(busy) == "421 4.3.2 mx.test Service shutting down\r\n"
    assert time.monotonic() - signalled >= 2.0
    assert server.process.wait(timeout=30) == 0
    assert server.messages_accepted() == 0


def reload_and_wait(server, marker):
    """SIGHUP, then wait for one more log line containing `marker`."""
    before = server.output().count(marker)
    server.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while server.output().count(marker) == before:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)  # the reactors pick the new configuration up on their next wake


def test_sighup_reloads_the_users_map_for_new_transactions(mxringd, tmp_path):
    users = tmp_path / "users"
    users.write_text("alice\n")
    server = mxringd("--users", str(users))

    def rcpt(name):
        with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
            c.ehlo()
            c.mail("x@client.test")
            return c.rcpt(f"{name}@localhost")

    assert rcpt("alice") == (250, b"2.1.5 Ok")
    assert rcpt("bob") == (550, b"5.1.1 Recipient address rejected: user unknown")
    held = smtplib.SMTP(server.host, server.port, local_hostname="client.test")
    held.ehlo()
    users.write_text("bob\n")
    reload_and_wait(server, "reloaded recipient policy")
    assert rcpt("bob") == (250, b"2.1.5 Ok")
    assert rcpt("alice")[0] == 550
    # A connection opened before the reload is not dropped; it keeps its snapshot.
    held.mail("x@client.test")
    assert held.rcpt("alice@localhost") == (250, b"2.1.5 Ok")
    held.quit()
    server.stop()


def test_a_listener_given_twice_or_already_taken_is_refused(tmp_path):
    from conftest import MXRINGD, free_port
    port = free_port()
    twice = subprocess.run([MXRINGD, "--listen", f"127.0.0.1:{port}", "--listen",
                            f"127.0.0.1:{port}:smtps", "--durability", "discard"],
                           capture_output=True, text=True, timeout=30)
    assert twice.returncode != 0 and "given twice" in twice.stdout + twice.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        busy = subprocess.run([MXRINGD, "--listen", f"127.0.0.1:{port}", "--durability",
                               "discard"], capture_output=True, text=True, timeout=30)
    assert busy.returncode != 0
    # A name would need a DNS lookup, which mxringd never makes unasked (DESIGN.md).
    for name in (f"localhost:{port}", f"[localhost]:{port}", f"--metrics=mx.test:{port}"):
        args = [name] if name.startswith("--") else ["--listen", name]
        named = subprocess.run([MXRINGD, *args, "--check-config"], capture_output=True,
                               text=True, timeout=30)
        assert named.returncode != 0 and "names are not looked up" in named.stdout + named.stderr


def test_host_name_must_be_a_domain_or_an_address_literal(tmp_path):
    """--host-name goes into the greeting, EHLO's answer and every Received field (RFC 5321
    §4.2, §4.4). A space, a line break (a TOML string can hold one) or an over-long name
    would forge a reply line or a header field of every stored message: refused at start."""
    from conftest import MXRINGD
    config = tmp_path / "mxringd.toml"
    config.write_text('host_name = "mx.test\\r\\n250 forged"\n')
    for args in (["--host-name", "mx test"], ["--host-name", "a" * 64 + ".test"],
                 ["--host-name", ".".join(["a" * 63] * 5)], ["--host-name", "-mx.test"],
                 ["--host-name", "mx.t\u00e9st"], ["--config", str(config)]):
        checked = subprocess.run([MXRINGD, *args, "--check-config"], capture_output=True,
                                 text=True, timeout=30)
        assert checked.returncode != 0, args
        assert "--host-name: must be a domain name or an address literal" in (
            checked.stdout + checked.stderr), args
    for name in ("mx.example.com", "[127.0.0.1]", "[IPv6:::1]", "mx-1.example"):
        checked = subprocess.run([MXRINGD, "--host-name", name, "--check-config"],
                                 capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, (name, checked.stderr)
        assert f'host_name = "{name}"' in checked.stdout


def test_a_machine_name_that_is_no_domain_gives_localhost():
    """Without --host-name mxringd takes the machine's name; one a domain cannot hold (an
    underscore) makes it "localhost" rather than a server that will not start. The name is
    set in a UTS namespace of the test's own."""
    from conftest import MXRINGD
    code = ("import socket, subprocess, sys\n"
            "socket.sethostname('mail_box')\n"
            "print(subprocess.run([sys.argv[1], '--check-config'], capture_output=True,"
            " text=True).stdout)")
    named = subprocess.run(["unshare", "--uts", sys.executable, "-c", code, MXRINGD],
                           capture_output=True, text=True, timeout=30)
    if named.returncode != 0 and "Operation not permitted" in named.stderr:
        pytest.skip("no UTS namespace here (needs root)")
    assert named.returncode == 0, named.stderr
    assert 'host_name = "localhost"' in named.stdout


def test_a_negative_number_or_an_oversized_segment_is_refused():
    """CLI11 reads 64-bit unsigned flags with strtoull, which takes "-1" for 2^64 - 1: a
    --min-free-space of -1 would answer every MAIL 452, a --segment-size of -5 never rotate."""
    from conftest import MXRINGD
    for flag in ("--min-free-space", "--segment-size", "--segment-age", "--retention",
                 "--max-content-memory", "--min-free-inodes", "--max-message-size"):
        refused = subprocess.run([MXRINGD, flag, "-1", "--check-config"], capture_output=True,
                                 text=True, timeout=30)
        assert refused.returncode != 0, flag
        assert "expected a whole number, got -1" in refused.stdout + refused.stderr, flag
        taken = subprocess.run([MXRINGD, flag, "1073741824", "--check-config"],
                               capture_output=True, text=True, timeout=30)
        assert taken.returncode == 0, (flag, taken.stderr)
        assert f"{flag[2:].replace('-', '_')} = 1073741824" in taken.stdout, flag
    # Segment offsets have 40 bits in the commit marker (SPOOL-FORMAT.md §5).
    too_big = subprocess.run([MXRINGD, "--segment-size", str(1 << 40), "--check-config"],
                             capture_output=True, text=True, timeout=30)
    assert too_big.returncode != 0 and "at most 256 GiB" in too_big.stdout + too_big.stderr
    # The rings are allocated whole at start: refused with a word, not std::bad_alloc.
    ring = subprocess.run([MXRINGD, "--storage-ring", "4000000000", "--check-config"],
                          capture_output=True, text=True, timeout=30)
    assert ring.returncode != 0 and "4 to 1048576" in ring.stdout + ring.stderr


def test_sighup_rereads_the_config_file_and_keeps_it_when_broken(mxringd, tmp_path):
    config = tmp_path / "mxringd.toml"
    config.write_text('max_recipients = 2\nlog_level = "info"\n')
    server = mxringd("--config", str(config))

    def accepted_rcpts(count):
        with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
            c.ehlo()
            c.mail("x@client.test")
            return sum(c.rcpt(f"r{i}@localhost")[0] == 250 for i in range(count))

    assert accepted_rcpts(4) == 2
    config.write_text('max_recipients = 3\nlog_level = "debug"\nsegment_size = 1000000\n')
    reload_and_wait(server, "reloaded recipient policy, limits")
    assert accepted_rcpts(4) == 3
    assert "reload: segment_size changed; it takes effect after a restart" in server.output()
    config.write_text('max_recipients = "not a number\n')
    reload_and_wait(server, "reload failed, keeping the old configuration")
    assert accepted_rcpts(4) == 3
    assert server.process.poll() is None


def test_a_reload_keeps_what_only_a_restart_changes_and_names_it(mxringd, tmp_path):
    """A listener started to discard has no storage writer: a SIGHUP that asks it for fsync
    is not applied (before, its 250 said "queued as" for a message kept nowhere), and every
    setting that waits for a restart is named, not only the few once listed by hand."""
    from conftest import free_port
    port = free_port()
    config = tmp_path / "mxringd.toml"
    listener = f'[[listener]]\naddress = "127.0.0.1:{port}"\ndurability = "%s"\n'
    config.write_text("max_recipients = 2\n" + listener % "discard")
    server = mxringd("--config", str(config), port=port)

    def deliver():
        with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
            c.ehlo()
            c.mail("x@client.test")
            rcpts = sum(c.rcpt(f"r{i}@localhost")[0] == 250 for i in range(4))
            code, text = c.data(b"Subject: t\r\n\r\nbody\r\n")
            return rcpts, code, text.decode()

    assert deliver()[:2] == (2, 250)
    config.write_text(f'max_recipients = 3\nspool = "{tmp_path / "spool"}"\n'
                      "min_data_rate = 10\nsoft_error_limit = 5\n" + listener % "fsync")
    reload_and_wait(server, "reloaded recipient policy, limits")
    rcpts, code, text = deliver()
    assert (rcpts, code) == (3, 250)  # the limit reloaded, the listener did not
    assert text.startswith("2.0.0 Ok: discarded as"), text
    named = re.findall(r"reload: (\w+) changed; it takes effect after a restart",
                       server.output())
    assert sorted(named) == ["listen", "min_data_rate", "spool"], named
    assert not (tmp_path / "spool").exists()


def test_a_reload_cannot_raise_the_message_size_past_the_content_memory(mxringd, tmp_path):
    """The content memory is sized at start. A SIGHUP that raises max_message_size past
    what it holds would advertise a SIZE no message could be held at, each such message
    answered 452 on every retry: the reload is refused and the old limit stays."""
    from conftest import content_memory_needed, free_port, scraped
    port = free_port()
    config = tmp_path / "mxringd.toml"
    listener = f'[[listener]]\naddress = "127.0.0.1:{port}"\ndurability = "discard"\n'
    config.write_text("max_message_size = 1000000\n" + listener)
    metrics_port = free_port()
    server = mxringd("--config", str(config), "--metrics", f"127.0.0.1:{metrics_port}",
                     port=port)

    def advertised_size():
        with smtplib.SMTP(server.host, server.port, local_hostname="client.test") as c:
            c.ehlo()
            return c.esmtp_features["size"]

    assert advertised_size() == "1000000"
    held = int(scraped(metrics_port, "mxring_content_memory_limit_bytes"))
    too_large = held - content_memory_needed(0, 1000) + 1  # one octet past what it holds
    assert too_large <= 256 << 30  # the largest --max-message-size there is
    config.write_text(f"max_message_size = {too_large}\n" + listener)
    server.signal(signal.SIGHUP)
    assert server.wait_for_output("a reload cannot raise --max-message-size or "
                                  "--max-recipients past what the content memory holds")
    assert advertised_size() == "1000000"
    config.write_text("max_message_size = 2000000\n" + listener)
    reload_and_wait(server, "reloaded recipient policy, limits")
    assert advertised_size() == "2000000"


def test_the_config_file_refuses_unknown_settings_and_numbers_out_of_range(tmp_path):
    """A misspelt key would leave its default in force unnoticed, and -5 would wrap to four
    billion connections: both are refused with the file's line, as a type error is."""
    from conftest import MXRINGD

    def check(text):
        config = tmp_path / "mxringd.toml"
        config.write_text(text)
        return subprocess.run([MXRINGD, "--config", str(config), "--check-config"],
                              capture_output=True, text=True, timeout=30)

    # Every setting --check-config prints, --config reads back to the same configuration.
    printed = subprocess.run([MXRINGD, "--check-config", "--durability", "none",
                              "--max-connections", "77", "--proxy-trusted", "127.0.0.0/8",
                              "--min-free-space", "12345"],
                             capture_output=True, text=True, timeout=30)
    assert printed.returncode == 0, printed.stderr
    again = check(printed.stdout)
    assert again.returncode == 0, again.stderr
    assert again.stdout == printed.stdout

    typo = check('max_recipients = 2\nmax_conections = 5\n')
    assert typo.returncode == 2 and typo.stdout == ""
    assert "unknown top-level setting max_conections" in typo.stderr
    assert "2 | max_conections = 5" in typo.stderr

    listener = check('[[listener]]\naddress = "127.0.0.1:2999"\ndurabilty = "discard"\n')
    assert listener.returncode == 2
    assert "unknown [[listener]] setting durabilty" in listener.stderr

    for text in ('max_connections = -5\n', 'threads = 4294967296\n', 'rate_window = -1\n'):
        refused = check(text)
        assert refused.returncode == 2, text
        assert "is out of range" in refused.stderr and "from 0 to 4294967295" in refused.stderr

    # Without the check an unknown level read as info, silently.
    level = check('log_level = "verbose"\n')
    assert level.returncode != 0 and "log_level: must be debug, info, warning or error" in (
        level.stdout + level.stderr)

    fine = check('max_connections = 4294967295\nthreads = 0\n')
    assert fine.returncode == 0, fine.stderr
    assert "max_connections = 4294967295" in fine.stdout


@pytest.mark.parametrize("option, refused, file_value, bound, why", [
    # 0 or 1 stored every batch in a segment file of its own.
    ("--segment-size", ["0", "4095"], 1, "4096", "at least 4096"),
    # A queue id holds the reactor in 10 bits: reactor 1024 would repeat reactor 0's ids
    # (and --threads 100000 took minutes of set-up before it could even be stopped).
    ("--threads", ["1025"], 5000, "1024", "at most 1024"),
])
def test_a_setting_past_what_mxringd_can_do_is_refused(option, refused, file_value, bound,
                                                       why, tmp_path):
    from conftest import MXRINGD
    key = option[2:].replace("-", "_")
    config = tmp_path / "mxringd.toml"
    config.write_text(f"{key} = {file_value}\n")
    for args in [[option, value] for value in refused] + [["--config", str(config)]]:
        result = subprocess.run([MXRINGD, *args, "--check-config"], capture_output=True,
                                text=True, timeout=30)
        assert result.returncode != 0, args
        assert f"{option}: {why}" in result.stdout + result.stderr
    accepted = subprocess.run([MXRINGD, option, bound, "--check-config"], capture_output=True,
                              text=True, timeout=30)
    assert accepted.returncode == 0 and f"{key} = {bound}\n" in accepted.stdout


@pytest.mark.parametrize("option", ["--max-message-size", "--max-recipients",
                                    "--max-messages-per-connection", "--max-connections",
                                    "--command-timeout", "--data-timeout"])
def test_a_limit_of_zero_that_would_refuse_all_mail_is_refused(option, tmp_path):
    """0 does not lift these limits, it refuses everything: every message got 552 under an
    EHLO saying SIZE 0 (no limit, RFC 1870 §4), every MAIL 452 under MAILMAX=0, every client
    421 at once under a zero timeout. mxringd says so at start, from a flag or the file."""
    from conftest import MXRINGD
    flag = subprocess.run([MXRINGD, option, "0", "--check-config"], capture_output=True,
                          text=True, timeout=30)
    assert flag.returncode != 0 and f"{option}: at least 1" in flag.stdout + flag.stderr
    config = tmp_path / "mxringd.toml"
    key = {"--max-messages-per-connection": "max_messages_per_connection"}.get(
        option, option[2:].replace("-", "_"))
    config.write_text(f"{key} = 0\n")
    from_file = subprocess.run([MXRINGD, "--config", str(config), "--check-config"],
                               capture_output=True, text=True, timeout=30)
    assert from_file.returncode != 0
    assert f"{option}: at least 1" in from_file.stdout + from_file.stderr
    one = subprocess.run([MXRINGD, option, "1", "--check-config"], capture_output=True,
                         text=True, timeout=30)
    assert one.returncode == 0, one.stderr
    assert f"{key} = 1\n" in one.stdout
