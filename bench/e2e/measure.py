"""Shared helpers for the end-to-end benchmarks: process CPU and RSS from /proc, free ports,
file-descriptor limits, and starting servers pinned to a CPU."""
import json
import os
import resource
import socket
import subprocess
import threading
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
MXRINGD = os.environ.get("MXRINGD", os.path.join(ROOT, "build/release/bin/mxringd"))
# Every measurement puts the server on one core and its load on the other, the same way round
# (compare.py and peers.py too): this VM's disk interrupts arrive on CPU 1 and the memory
# balloon's on CPU 0, so the two layouts are not alike.
SERVER_CPU, LOAD_CPU = 1, 0


def cpu_seconds(pid):
    """User + system CPU of a process and all its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_file_limit(wanted=200_000):
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_for_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.recv(512)
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def mxringd_command(port, durability, spool=None, *extra):
    """mxringd as every benchmark runs it: one reactor, no per-address cap, connections
    kept for as many messages as the load sends."""
    command = [MXRINGD, "--listen", f"127.0.0.1:{port}", "--durability", durability,
               "--threads", "1", "--max-connections-per-ip", "0", "--host-name", "bench.test",
               "--max-messages-per-connection", "100000000", *extra]
    if durability != "discard":
        command += ["--spool", spool]
    return command


MXRING = os.path.join(os.path.dirname(MXRINGD), "mxring")


def mxring_bench(port, *arguments, timeout=900):
    """mxring bench's --json report against 127.0.0.1:`port` with `arguments`; any unexpected
    reply fails the measurement."""
    result = subprocess.run([MXRING, "bench", "--target", f"127.0.0.1:{port}", *arguments,
                             "--json"], capture_output=True, text=True, timeout=timeout)
    report = json.loads(result.stdout)
    if report["errors"]:
        raise RuntimeError(f"mxring bench: {report['error_kinds']}")
    return report


def closed_loop_1k(port, duration, server_pid=None):
    """mxring bench's report for the standard load: 100 connections, 1 KiB messages, closed
    loop, 2 s warm-up, on LOAD_CPU. Errors (any unexpected reply) fail the measurement.

    Given the server's pid, the report also carries `server_cpu_us_per_msg`: the server's
    CPU (every thread) from the end of the warm-up to the end of the run, per counted
    message. On a saturated core that is the cost itself, without the run-to-run wander of
    msgs/s."""
    warmup = 2.0
    window = {}
    if server_pid is not None:
        timer = threading.Timer(warmup, lambda: window.setdefault("start", cpu_seconds(server_pid)))
        timer.start()
    try:
        report = mxring_bench(port, "--connections", "100", "--warmup", str(warmup),
                              "--duration", str(duration), "--size", "1024", "--cpu", str(LOAD_CPU))
    finally:
        if server_pid is not None:
            timer.cancel()  # a run that failed early must not read a server gone by then
    if server_pid is not None:
        timer.join()
        report["server_cpu_us_per_msg"] = ((cpu_seconds(server_pid) - window["start"]) * 1e6
                                           / max(1, report["messages"]))
    return report


def start(command, cpu=None, **kwargs):
    if cpu is not None:
        command = ["taskset", "-c", str(cpu)] + command
    return subprocess.Popen(command, preexec_fn=raise_file_limit, **kwargs)


def tree_cpu_seconds(root_pid):
    """CPU of a process and all its descendants, live or reaped (cutime/cstime), in seconds."""
    parents, own = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields[1])
        own[pid] = sum(int(x) for x in fields[11:15]) / CLOCK_TICKS
    total = 0.0
    for pid in own:
        p = pid
        while p in parents and p != root_pid and p > 1:
            p = parents[p]
        if p == root_pid:
            total += own[pid]
    return total
