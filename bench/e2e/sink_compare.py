"""Throughput against Postfix's smtp-sink, measured in the same run: 1 KiB messages over 100
reused connections from Postfix's smtp-source (pinned to CPU 0), each server alone on CPU 1:
smtp-sink (stores nothing), mxring in discard mode, mxring with durability fsync (group
commit to a spool in a temporary directory on the project disk), and a private Postfix
smtpd that queues every message durably (postfix_instance.py). Reports msgs/s and server
CPU µs per message (from /proc), medians over the repetitions, and ratios. For fsync it also
reports the writer's batch sizes and the server's latency from end of data to the 250 (p50
and p99, log2 buckets, from the reactor's own measurement). Every run is bounded in count
and time.

usage: sink_compare.py [--messages N] [--repetitions R] [--json]
"""
import argparse
import json
import os
import re
import resource
import signal
import shutil
import statistics
import subprocess
import tempfile
import time

from measure import (LOAD_CPU, ROOT, SERVER_CPU, cpu_seconds, free_port, mxringd_command,
                     start, tree_cpu_seconds, wait_for_port)
from postfix_instance import PostfixInstance


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_load(name, port, messages, server_cpu_seconds):
    """Runs smtp-source (pinned to CPU 0) against `port`; rates and CPU per message."""
    cpu_before = server_cpu_seconds()
    client_before = children_cpu()
    started = time.monotonic()
    load = subprocess.run(
        ["taskset", "-c", str(LOAD_CPU), "smtp-source", "-d", "-s", "100", "-m", str(messages),
         "-l", "1024", "-f", "sender@client.test", "-t", "rcpt@localhost",
         f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    server_cpu = server_cpu_seconds() - cpu_before
    client_cpu = children_cpu() - client_before
    if load.returncode != 0 or load.stderr:
        raise RuntimeError(f"smtp-source against {name}: {load.stderr}")
    return {"msgs_per_s": messages / elapsed,
            "server_cpu_us_per_msg": server_cpu * 1e6 / messages,
            "client_cpu_us_per_msg": client_cpu * 1e6 / messages}


def run_postfix(messages):
    """Postfix smtpd, queueing every message durably (one fsync each): far slower, so it gets
    a tenth of the messages; rates and CPU per message still compare."""
    messages = max(messages // 10, 5000)
    port = free_port()
    instance = PostfixInstance(port, cpu=SERVER_CPU, parent=None)  # /tmp: the postfix user must reach it
    try:
        master = instance.master_pid()
        wait_for_port(port)
        return measure_load("postfix", port, messages, lambda: tree_cpu_seconds(master))
    finally:
        instance.stop()


def run_once(name, messages):
    if name == "postfix-smtpd":
        return run_postfix(messages)
    port = free_port()
    spool = None
    if name.startswith("mxring"):
        durability = "fsync" if name == "mxring-fsync" else "discard"
        if durability == "fsync":
            spool = tempfile.mkdtemp(prefix="mxring-bench-spool-", dir=os.path.join(ROOT, "build"))
        command = mxringd_command(port, durability, spool)
    else:  # the peer set-up of ../shared notes: backlog 1024, up to 1024 sessions
        command = ["smtp-sink", "-u", "nobody", "-h", "bench.test", "-m", "1024",
                   f"127.0.0.1:{port}", "1024"]
    log = tempfile.TemporaryFile()
    server = start(command, cpu=SERVER_CPU, stderr=log, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        time.sleep(0.3)
        result = measure_load(name, port, messages, lambda: cpu_seconds(server.pid))
        if name.startswith("mxring"):
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
            log.seek(0)
            for line in log.read().decode().splitlines():
                if "batch_sizes" in line:
                    result["batch_sizes"] = line.split("batch_sizes")[1]
                latency = re.search(r"store_latency_p50_us<=(\d+) p99_us<=(\d+)", line)
                if latency and name == "mxring-fsync":
                    result["eod_to_250_p50_us"] = int(latency.group(1))
                    result["eod_to_250_p99_us"] = int(latency.group(2))
        return result
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGKILL)
            server.wait()
        if spool:
            shutil.rmtree(spool, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = {"smtp-sink": [], "mxring": [], "mxring-fsync": [], "postfix-smtpd": []}
    for _ in range(args.repetitions):  # interleaved, so drift hits both alike
        for name in runs:
            runs[name].append(run_once(name, args.messages))
    result = {}
    for name, samples in runs.items():
        result[name] = {key: round(statistics.median(s[key] for s in samples), 1)
                        for key in samples[0] if key != "batch_sizes"}
        if "batch_sizes" in samples[-1]:
            result[name]["batch_sizes"] = samples[-1]["batch_sizes"]
    sink, discard, fsync = result["smtp-sink"], result["mxring"], result["mxring-fsync"]
    result["ratio"] = {
        "msgs_per_s": round(discard["msgs_per_s"] / sink["msgs_per_s"], 2),
        "server_cpu_per_msg": round(discard["server_cpu_us_per_msg"]
                                    / sink["server_cpu_us_per_msg"], 2),
        "fsync_vs_discard_msgs_per_s": round(fsync["msgs_per_s"] / discard["msgs_per_s"], 2),
        "fsync_vs_sink_msgs_per_s": round(fsync["msgs_per_s"] / sink["msgs_per_s"], 2),
        "fsync_vs_postfix_msgs_per_s": round(fsync["msgs_per_s"]
                                             / result["postfix-smtpd"]["msgs_per_s"], 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{'server':<13} {'msgs/s':>9} {'server µs/msg':>14} {'client µs/msg':>14}")
    for name in runs:
        r = result[name]
        print(f"{name:<13} {r['msgs_per_s']:>9.0f} {r['server_cpu_us_per_msg']:>14.1f} "
              f"{r['client_cpu_us_per_msg']:>14.1f}")
    ratio = result["ratio"]
    print(f"mxring discard / smtp-sink: msgs/s x{ratio['msgs_per_s']}, "
          f"server CPU per message x{ratio['server_cpu_per_msg']}")
    print(f"mxring fsync: x{ratio['fsync_vs_discard_msgs_per_s']} of discard, "
          f"x{ratio['fsync_vs_sink_msgs_per_s']} of smtp-sink, "
          f"x{ratio['fsync_vs_postfix_msgs_per_s']} of Postfix smtpd; writer batches "
          f"{fsync.get('batch_sizes', '')}; end of data to 250: p50 <= "
          f"{fsync.get('eod_to_250_p50_us')} µs, p99 <= {fsync.get('eod_to_250_p99_us')} µs")


if __name__ == "__main__":
    main()
