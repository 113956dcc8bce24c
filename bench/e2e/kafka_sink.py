#!/usr/bin/env python3
"""Kafka sink mode beside fsync, in the same run: mxring bench (100 connections, 1 KiB, CPU 0)
against mxringd with `--durability fsync` (group commit to the local spool) and with
`--durability kafka` producing to librdkafka's mock cluster (3 brokers in one process, topic
with 3 partitions; idempotent producer, acks=all). mxringd and the mock cluster share CPU 1.

Reported: msgs/s, end-of-data→250 latency p50/p99 (what the client waits for the
acknowledgement) and the p99 that Kafka adds over fsync; CPU of mxringd and of the broker.

    /usr/bin/python3 bench/e2e/kafka_sink.py [--duration 10] [--repetitions 3] [--json FILE]
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import shutil

sys.path.insert(0, os.path.dirname(__file__))
from measure import (ROOT, SERVER_CPU, closed_loop_1k, cpu_seconds, free_port,  # noqa: E402
                     mxringd_command, start, wait_for_port)

BIN = os.path.dirname(os.environ.get("MXRINGD", os.path.join(ROOT, "build/release/bin/mxringd")))


def run(mode, cluster, workdir, duration):
    port = free_port()
    extra = ["--kafka-brokers", cluster["bootstrap"], "--kafka-topic", "mail"] \
        if mode == "kafka" else []
    server = start(mxringd_command(port, mode, os.path.join(workdir, f"spool-{port}"), *extra),
                   cpu=SERVER_CPU, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        server_cpu, broker_cpu = cpu_seconds(server.pid), cpu_seconds(cluster["process"].pid)
        report = closed_loop_1k(port, duration)
        server_cpu = cpu_seconds(server.pid) - server_cpu
        broker_cpu = cpu_seconds(cluster["process"].pid) - broker_cpu
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    latency = report["latency_us"]["end_of_data"]
    return {"msgs_per_s": report["msgs_per_s"], "p50_us": latency["p50"],
            "p99_us": latency["p99"],
            "server_cpu_us_per_msg": server_cpu * 1e6 / report["messages"],
            "broker_cpu_us_per_msg": broker_cpu * 1e6 / report["messages"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="mxring-kafka-bench-", dir=os.path.join(ROOT, "build"))
    process = start([os.path.join(BIN, "kafka_mock_cluster"), "3"], cpu=SERVER_CPU,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    cluster = {"process": process, "bootstrap": process.stdout.readline().split()[1]}
    process.stdin.write("topic mail 3\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "ok"
    results = {}
    try:
        runs = {"fsync": [], "kafka": []}
        for _ in range(args.repetitions):
            for mode in runs:  # interleaved, so drift affects both alike
                runs[mode].append(run(mode, cluster, workdir, args.duration))
        for mode, samples in runs.items():
            results[mode] = {k: round(statistics.median(s[k] for s in samples), 1)
                             for k in samples[0]}
            r = results[mode]
            print(f"{mode:6} {r['msgs_per_s']:>10,.0f} msgs/s  end of data→250 p50 "
                  f"{r['p50_us']:>7,.0f} µs p99 {r['p99_us']:>7,.0f} µs  mxringd "
                  f"{r['server_cpu_us_per_msg']:.1f} µs/msg  broker "
                  f"{r['broker_cpu_us_per_msg']:.1f} µs/msg", flush=True)
        results["kafka_vs_fsync_msgs_ratio"] = round(
            results["kafka"]["msgs_per_s"] / results["fsync"]["msgs_per_s"], 3)
        results["kafka_added_p99_us"] = results["kafka"]["p99_us"] - results["fsync"]["p99_us"]
        print(f"kafka/fsync msgs/s ×{results['kafka_vs_fsync_msgs_ratio']:.2f}; "
              f"p99 added by kafka {results['kafka_added_p99_us']:,.0f} µs")
    finally:
        process.stdin.close()
        process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
