#!/usr/bin/env python3
"""What metrics and logs cost: mxringd (one reactor, CPU 1, every thread of it) under mxring
bench (100 connections, 1 KiB, CPU 0: the layout of compare.py), with both off — `--log-level
error`, no metrics listener — and with both on: a JSON line for every transaction and every
connection written to a file, and /metrics scraped once a second (Prometheus scrapes every
15 s by default).

By default the two servers run together, in the same run: both on CPU 1, each in a CPU
control group of equal weight (so each gets half the core, however many threads it has),
each under its own mxring bench on CPU 0. Whatever this VM's speed does during a run, it
does to both, so the ratio of their msgs/s is the cost itself. `--calibrate` runs two "off"
servers the same way, to show the method's own spread. `--alternate` runs them one after
the other instead (this VM's throughput wanders by ±15% between identical runs).

The log line's own CPU is priced exactly by BM_TransactionLogLine
(bench/micro/session_bench.cpp).

    /usr/bin/python3 bench/e2e/observability_cost.py [--durability discard] [--duration 8]
        [--repetitions 5] [--alternate | --calibrate] [--json FILE]
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


class Server:
    """mxringd, observed (logs to a file, /metrics scraped every second) or not."""

    def __init__(self, observed, durability, workdir):
        self.observed = observed
        self.port, self.metrics_port = free_port(), free_port()
        self.log_path = os.path.join(workdir, f"mxringd-{self.port}.log")
        extra = (["--log-level", "info", "--log-file", self.log_path, "--metrics",
                  f"127.0.0.1:{self.metrics_port}"] if observed else ["--log-level", "error"])
        self.process = start(mxringd_command(self.port, durability,
                                             os.path.join(workdir, f"spool-{self.port}"), *extra),
                             cpu=SERVER_CPU, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.stop_scraping, self.pages = threading.Event(), []
        self.scraper = threading.Thread(target=scrape_every_second,
                                        args=(self.metrics_port, self.stop_scraping, self.pages))
        wait_for_port(self.port)
        if observed:
            self.scraper.start()

    def measure(self, duration):
        self.report = closed_loop_1k(self.port, duration, self.process.pid)

    def stop(self):
        self.stop_scraping.set()
        if self.scraper.is_alive():
            self.scraper.join()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)

    def sample(self):
        report = self.report
        sample = {"msgs_per_s": report["msgs_per_s"],
                  "cpu_us_per_msg": report["server_cpu_us_per_msg"],
                  "p99_us": report["latency_us"]["end_of_data"]["p99"]}
        if self.observed:
            with open(self.log_path, "rb") as f:
                lines = f.read().splitlines()
            transactions = sum(1 for line in lines if b'"event":"transaction"' in line)
            # Every message the server acknowledged (warm-up included) has its line.
            sample["transaction_lines"] = transactions
            sample["log_bytes_per_msg"] = os.path.getsize(self.log_path) / max(1, transactions)
            sample["scrapes"] = len(self.pages)
        return sample


class CpuGroups:
    """A CPU control group of equal weight for each server (cgroup v2, or v1's cpu
    controller), so that two servers sharing a core get half of it each: the scheduler
    otherwise shares a core by thread, and an observed server has one more."""

    def __init__(self):
        v2, v1 = "/sys/fs/cgroup", "/sys/fs/cgroup/cpu"
        if os.path.exists(os.path.join(v2, "cgroup.subtree_control")):
            with open(os.path.join(v2, "cgroup.controllers")) as f:
                if "cpu" not in f.read().split():
                    raise RuntimeError("cgroup v2 without the cpu controller")
            with open(os.path.join(v2, "cgroup.subtree_control"), "w") as f:
                f.write("+cpu")
            self.root = v2
        elif os.path.exists(os.path.join(v1, "cpu.shares")):
            self.root = v1
        else:
            raise RuntimeError("no CPU control group hierarchy (needs root and the cpu controller)")
        self.made = []

    def place(self, name, pid):
        path = os.path.join(self.root, f"mxring-observability-{os.getpid()}-{name}")
        os.makedirs(path, exist_ok=True)
        self.made.append(path)
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(pid))  # the whole process: every thread it has and will start

    def remove(self):
        for path in self.made:  # empty once its server has exited
            try:
                os.rmdir(path)
            except OSError:
                pass


def run_alone(observed, durability, workdir, duration):
    server = Server(observed, durability, workdir)
    try:
        server.measure(duration)
    finally:
        server.stop()
    return server.sample()


def run_together(observed_flags, durability, workdir, duration):
    """Both servers at once, on the same core, each in its own equal CPU group."""
    groups = CpuGroups()
    servers = []
    try:
        for name, observed in zip(("off", "on"), observed_flags):
            servers.append(Server(observed, durability, workdir))
            groups.place(name, servers[-1].process.pid)
        loads = [threading.Thread(target=s.measure, args=(duration,)) for s in servers]
        for load in loads:
            load.start()
        for load in loads:
            load.join()
    finally:
        for server in servers:
            server.stop()
        groups.remove()
    for server in servers:
        if not hasattr(server, "report"):
            raise RuntimeError("a load generator failed")
    return [server.sample() for server in servers]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--durability", default="discard", choices=["discard", "none", "fsync"])
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--json")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--alternate", action="store_true",
                     help="one server at a time, alternating, instead of both at once")
    how.add_argument("--calibrate", action="store_true",
                     help="two servers with both off at once: the method's own spread")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="mxring-observability-", dir=os.path.join(ROOT, "build"))
    runs = {"off": [], "on": []}
    observed = {"off": False, "on": not args.calibrate}

    def show(mode):
        s = runs[mode][-1]
        print(f"  {mode:3} {s['msgs_per_s']:>10,.0f} msgs/s {s['cpu_us_per_msg']:5.2f} µs "
              f"server CPU/msg p99 {s['p99_us']:>6,} µs"
              + (f"  {s['transaction_lines']:,} transaction lines, "
                 f"{s['log_bytes_per_msg']:.0f} B each, {s['scrapes']} scrapes"
                 if observed[mode] else ""), flush=True)

    if not args.alternate:
        try:
            CpuGroups().remove()
        except (RuntimeError, OSError) as error:
            if args.calibrate:
                sys.exit(f"--calibrate needs CPU control groups: {error}")
            print(f"no CPU control groups ({error}): running one server at a time", flush=True)
            args.alternate = True
    try:
        for _ in range(args.repetitions):
            if args.alternate:
                for mode in runs:
                    runs[mode].append(run_alone(observed[mode], args.durability, workdir,
                                                args.duration))
                    show(mode)
            else:
                off, on = run_together((observed["off"], observed["on"]), args.durability,
                                       workdir, args.duration)
                runs["off"].append(off)
                runs["on"].append(on)
                show("off")
                show("on")
                print(f"      on/off ×{on['msgs_per_s'] / off['msgs_per_s']:.3f}", flush=True)
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
    # Each "on" run against the "off" run beside it (or just before it, alternating): drift
    # between pairs cancels.
    pairs = [on["msgs_per_s"] / off["msgs_per_s"] for on, off in zip(runs["on"], runs["off"])]
    paired = statistics.median(pairs)
    results["method"] = ("alternate" if args.alternate else
                         "together, calibration (both off)" if args.calibrate else "together")
    results["paired_on_vs_off_median"] = round(paired, 3)
    results["paired_on_vs_off_range"] = [round(min(pairs), 3), round(max(pairs), 3)]
    print(f"{results['method']}: paired runs, on/off median ×{paired:.3f} "
          f"(×{min(pairs):.3f}–×{max(pairs):.3f})")
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
