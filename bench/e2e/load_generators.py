#!/usr/bin/env python3
"""mxring bench beside Postfix's smtp-source, and what mxring bench shows about the servers.

1. Client cost: both generators drive Postfix smtp-sink (1 KiB, 100 connections reused,
   1 recipient): client CPU per message and msgs/s, same run.
2. Servers under mxring bench (PIPELINING on): smtp-sink, mxringd discard and mxringd fsync:
   msgs/s, server CPU per message, p99 end of data to 250; ratios to smtp-sink.

Server on CPU 1, load generator on CPU 0, configurations interleaved, medians of N.

    /usr/bin/python3 bench/e2e/load_generators.py [--messages 300000] [--repetitions 3]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from measure import LOAD_CPU, ROOT, free_port, mxring_bench  # noqa: E402
from peers import start_peer  # noqa: E402


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_smtp_source(port, messages):
    before = children_cpu()
    started = time.monotonic()
    result = subprocess.run(["taskset", "-c", str(LOAD_CPU), "smtp-source", "-d", "-s", "100", "-m",
                             str(messages), "-l", "1024", "-f", "sender@client.test", "-t",
                             "rcpt@localhost", f"127.0.0.1:{port}"],
                            capture_output=True, text=True, timeout=900)
    elapsed = time.monotonic() - started
    if result.returncode != 0 or result.stderr:
        raise RuntimeError(f"smtp-source: {result.stderr}")
    return {"msgs_per_s": messages / elapsed,
            "client_cpu_us_per_msg": (children_cpu() - before) * 1e6 / messages}


def run_mxring_bench(port, messages):
    before = children_cpu()
    report = mxring_bench(port, "--connections", "100", "--count", str(messages), "--size", "1024",
                          "--cpu", str(LOAD_CPU))
    return {"msgs_per_s": report["msgs_per_s"],
            "client_cpu_us_per_msg": (children_cpu() - before) * 1e6 / messages,
            "p99_end_of_data_us": report["latency_us"]["end_of_data"]["p99"]}


def measure(server_name, generator, messages):
    workdir = tempfile.mkdtemp(prefix="mxring-bench-", dir=os.path.join(ROOT, "build"))
    port = free_port()
    server = start_peer(server_name, port, workdir)
    try:
        cpu_before = server.cpu_seconds()
        result = (run_mxring_bench if generator == "mxring-bench" else run_smtp_source)(
            port, messages)
        result["server_cpu_us_per_msg"] = (server.cpu_seconds() - cpu_before) * 1e6 / messages
        return result
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    plan = [("smtp-sink", "smtp-source"), ("smtp-sink", "mxring-bench"),
            ("mxring-discard", "mxring-bench"), ("mxring-fsync", "mxring-bench")]
    runs = {key: [] for key in plan}
    for _ in range(args.repetitions):
        for key in plan:
            # smtp-source is slow: a third of the messages keeps the runs comparable in time.
            n = args.messages // 3 if key[1] == "smtp-source" else args.messages
            runs[key].append(measure(key[0], key[1], n))
    result = {}
    for (server, generator), samples in runs.items():
        result[f"{server} <- {generator}"] = {
            k: round(statistics.median(s[k] for s in samples), 1) for k in samples[0]}
        result[f"{server} <- {generator}"]["msgs_per_s_range"] = [
            round(min(s["msgs_per_s"] for s in samples)), round(max(s["msgs_per_s"] for s in samples))]
    src = result["smtp-sink <- smtp-source"]
    sink = result["smtp-sink <- mxring-bench"]
    discard = result["mxring-discard <- mxring-bench"]
    fsync = result["mxring-fsync <- mxring-bench"]
    result["ratios"] = {
        "bench_vs_smtp_source_client_cpu_per_msg": round(
            sink["client_cpu_us_per_msg"] / src["client_cpu_us_per_msg"], 3),
        "discard_vs_sink_msgs_per_s": round(discard["msgs_per_s"] / sink["msgs_per_s"], 2),
        "discard_vs_sink_server_cpu_per_msg": round(
            discard["server_cpu_us_per_msg"] / sink["server_cpu_us_per_msg"], 3),
        "fsync_vs_sink_msgs_per_s": round(fsync["msgs_per_s"] / sink["msgs_per_s"], 2),
    }
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
