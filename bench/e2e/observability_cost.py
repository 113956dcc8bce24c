#!/usr/bin/env python3
"""What metrics and logs cost: mxringd (one reactor, CPU 1, every thread of it) under mxring
bench (100 connections, 1 KiB, CPU 0: the layout of compare.py), with both off — `--log-level error`, no metrics
listener — and with both on: a JSON line for every transaction and every connection written
to a file, and /metrics scraped once a second (Prometheus scrapes every 15 s by default).
Runs alternate, so drift hits both alike; medians are reported with the ratio, for msgs/s and
for the server's CPU per message.

This 2-vCPU VM's throughput wanders by ±15% between identical runs; the log line's own CPU is
priced exactly by BM_TransactionLogLine (bench/micro/session_bench.cpp).

    /usr/bin/python3 bench/e2e/observability_cost.py [--durability discard] [--duration 8]
        [--repetitions 5] [--json FILE]
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from measure import (ROOT, SERVER_CPU, closed_loop_1k, free_port, mxringd_command,  # noqa: E402
                     start, wait_for_port)



def scrape_every_second(port, stop, pages):
    while not stop.wait(1.0):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            pages.append(len(r.read()))


def run(observed, durability, workdir, duration):
    port, metrics_port = free_port(), free_port()
    log_path = os.path.join(workdir, f"mxringd-{port}.log")
    extra = (["--log-level", "info", "--log-file", log_path, "--metrics",
              f"127.0.0.1:{metrics_port}"] if observed else ["--log-level", "error"])
    server = start(mxringd_command(port, durability, os.path.join(workdir, f"spool-{port}"),
                                   *extra), cpu=SERVER_CPU, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    stop, pages = threading.Event(), []
    scraper = threading.Thread(target=scrape_every_second, args=(metrics_port, stop, pages))
    try:
        wait_for_port(port)
        if observed:
            scraper.start()
        report = closed_loop_1k(port, duration, server.pid)
    finally:
        stop.set()
        if scraper.is_alive():
            scraper.join()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    sample = {"msgs_per_s": report["msgs_per_s"],
              "cpu_us_per_msg": report["server_cpu_us_per_msg"],
              "p99_us": report["latency_us"]["end_of_data"]["p99"]}
    if observed:
        with open(log_path, "rb") as f:
            lines = f.read().splitlines()
        transactions = sum(1 for line in lines if b'"event":"transaction"' in line)
        # Every message the server acknowledged (warm-up included) has its line.
        sample["transaction_lines"] = transactions
        sample["log_bytes_per_msg"] = os.path.getsize(log_path) / max(1, transactions)
        sample["scrapes"] = len(pages)
    return sample


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--durability", default="discard", choices=["discard", "none", "fsync"])
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="mxring-observability-", dir=os.path.join(ROOT, "build"))
    runs = {"off": [], "on": []}
    try:
        for _ in range(args.repetitions):
            for mode in runs:
                runs[mode].append(run(mode == "on", args.durability, workdir, args.duration))
                s = runs[mode][-1]
                print(f"  {mode:3} {s['msgs_per_s']:>10,.0f} msgs/s {s['cpu_us_per_msg']:5.2f} µs "
                      f"server CPU/msg p99 {s['p99_us']:>6,} µs"
                      + (f"  {s['transaction_lines']:,} transaction lines, "
                         f"{s['log_bytes_per_msg']:.0f} B each, {s['scrapes']} scrapes"
                         if mode == "on" else ""), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results = {mode: {"msgs_per_s_median": statistics.median(s["msgs_per_s"] for s in samples),
                      "msgs_per_s_all": [s["msgs_per_s"] for s in samples],
                      "cpu_us_per_msg_median": statistics.median(
                          s["cpu_us_per_msg"] for s in samples),
                      "p99_us_median": statistics.median(s["p99_us"] for s in samples)}
               for mode, samples in runs.items()}
    ratio = results["on"]["msgs_per_s_median"] / results["off"]["msgs_per_s_median"]
    results["on_vs_off"] = round(ratio, 3)
    # Each "on" run against the "off" run just before it: drift between pairs cancels.
    paired = statistics.median(on["msgs_per_s"] / off["msgs_per_s"]
                               for on, off in zip(runs["on"], runs["off"]))
    results["paired_on_vs_off_median"] = round(paired, 3)
    print(f"paired runs: median on/off ×{paired:.3f}")
    print(f"durability {args.durability}: off {results['off']['msgs_per_s_median']:,.0f} msgs/s, "
          f"on {results['on']['msgs_per_s_median']:,.0f} msgs/s: ×{ratio:.3f} "
          f"({(1 - ratio) * 100:+.1f}% cost; target ≤ 5%)")
    cpu_ratio = results["on"]["cpu_us_per_msg_median"] / results["off"]["cpu_us_per_msg_median"]
    results["cpu_on_vs_off"] = round(cpu_ratio, 3)
    print(f"server CPU per message: off {results['off']['cpu_us_per_msg_median']:.2f} µs, on "
          f"{results['on']['cpu_us_per_msg_median']:.2f} µs: ×{cpu_ratio:.3f} "
          f"({(cpu_ratio - 1) * 100:+.1f}%)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
