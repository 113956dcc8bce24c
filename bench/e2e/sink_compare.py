"""Throughput in discard mode against Postfix's smtp-sink, measured in the same run: 1 KiB
messages over 100 reused connections from Postfix's smtp-source (pinned to CPU 0), each
server alone on CPU 1. Reports msgs/s and server CPU µs per message (from /proc) for each,
medians over the repetitions, and mxring's ratios. Every run is bounded in count and time.

usage: sink_compare.py [--messages N] [--repetitions R] [--json]
"""
import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import time

from measure import MXRINGD, cpu_seconds, free_port, start, wait_for_port


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(name, messages):
    port = free_port()
    if name == "mxring":
        command = [MXRINGD, "--listen", f"127.0.0.1:{port}", "--durability", "discard",
                   "--threads", "1", "--max-connections-per-ip", "0", "--host-name", "bench.test",
                   "--max-messages-per-connection", "100000000"]
    else:  # the peer set-up of ../shared notes: backlog 1024, up to 1024 sessions
        command = ["smtp-sink", "-u", "nobody", "-h", "bench.test", "-m", "1024",
                   f"127.0.0.1:{port}", "1024"]
    server = start(command, cpu=1, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        time.sleep(0.3)
        cpu_before = cpu_seconds(server.pid)
        client_before = children_cpu()
        started = time.monotonic()
        load = subprocess.run(
            ["taskset", "-c", "0", "smtp-source", "-d", "-s", "100", "-m", str(messages),
             "-l", "1024", "-f", "sender@client.test", "-t", "rcpt@localhost",
             f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=300)
        elapsed = time.monotonic() - started
        server_cpu = cpu_seconds(server.pid) - cpu_before
        client_cpu = children_cpu() - client_before
        if load.returncode != 0 or load.stderr:
            raise RuntimeError(f"smtp-source against {name}: {load.stderr}")
        return {"msgs_per_s": messages / elapsed,
                "server_cpu_us_per_msg": server_cpu * 1e6 / messages,
                "client_cpu_us_per_msg": client_cpu * 1e6 / messages}
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = {"smtp-sink": [], "mxring": []}
    for _ in range(args.repetitions):  # interleaved, so drift hits both alike
        for name in runs:
            runs[name].append(run_once(name, args.messages))
    result = {}
    for name, samples in runs.items():
        result[name] = {key: round(statistics.median(s[key] for s in samples), 1)
                        for key in samples[0]}
    result["ratio"] = {
        "msgs_per_s": round(result["mxring"]["msgs_per_s"] / result["smtp-sink"]["msgs_per_s"], 2),
        "server_cpu_per_msg": round(result["mxring"]["server_cpu_us_per_msg"]
                                    / result["smtp-sink"]["server_cpu_us_per_msg"], 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{'server':<10} {'msgs/s':>10} {'server µs/msg':>14} {'client µs/msg':>14}")
    for name in runs:
        r = result[name]
        print(f"{name:<10} {r['msgs_per_s']:>10.0f} {r['server_cpu_us_per_msg']:>14.1f} "
              f"{r['client_cpu_us_per_msg']:>14.1f}")
    print(f"mxring / smtp-sink: msgs/s x{result['ratio']['msgs_per_s']}, "
          f"server CPU per message x{result['ratio']['server_cpu_per_msg']}")


if __name__ == "__main__":
    main()
