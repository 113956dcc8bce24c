#!/usr/bin/env python3
"""How fast consumers read a warm spool on one core: `mxring spool export --format jsonl`,
`export --format mbox` and `tail` (JSONL, from a fresh cursor), each to /dev/null.

The spool is filled by mxringd (durability none) from mxring bench with generated text
messages, then read twice so it sits in the page cache. Each reader runs pinned to one CPU;
the figure is spool octets read per wall-clock second (median of the repetitions), with the
reader's own CPU beside it.

    /usr/bin/python3 bench/e2e/spool_consumers.py [--repetitions 3] [--json FILE]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from measure import (MXRING, ROOT, free_port, mxring_bench, mxringd_command,  # noqa: E402
                     start, wait_for_port)


def fill_spool(spool, size, count):
    port = free_port()
    server = start(mxringd_command(port, "none", spool), cpu=0, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        mxring_bench(port, "--connections", "50", "--count", str(count), "--size", size,
                     "--cpu", "1")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)


def spool_octets(spool):
    total = 0
    for writer in os.listdir(spool):
        if writer.isdigit():
            for name in os.listdir(os.path.join(spool, writer)):
                if name.endswith(".seg"):
                    total += os.path.getsize(os.path.join(spool, writer, name))
    return total


def warm(spool):
    for _ in range(2):
        subprocess.run(f"cat {spool}/*/*.seg > /dev/null", shell=True, check=True)


def timed(command):
    """Wall seconds and the child's CPU seconds of one run, its output to /dev/null."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with open(os.devnull, "wb") as null:
        result = subprocess.run(["taskset", "-c", "1", *command], stdout=null,
                                stderr=subprocess.PIPE, timeout=900)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"{command}: {result.stderr.decode()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="mxring-spool-bench-", dir=os.path.join(ROOT, "build"))
    results = {}
    try:
        for size, count in (("10k", 110_000), ("1k", 400_000)):
            spool = os.path.join(workdir, f"spool-{size}")
            fill_spool(spool, size, count)
            octets = spool_octets(spool)
            warm(spool)
            readers = {
                "export jsonl": ["spool", "--dir", spool, "export", "--format", "jsonl"],
                "export mbox": ["spool", "--dir", spool, "export", "--format", "mbox"],
                "tail jsonl": ["spool", "--dir", spool, "tail", "--cursor",
                               os.path.join(workdir, "cursor"), "--batch", "100000"],
            }
            for name, command in readers.items():
                runs = []
                for _ in range(args.repetitions):
                    if os.path.exists(os.path.join(workdir, "cursor")):
                        os.unlink(os.path.join(workdir, "cursor"))
                    runs.append(timed([MXRING, *command]))
                wall = statistics.median(w for w, _ in runs)
                cpu = statistics.median(c for _, c in runs)
                key = f"{name}, {size} messages"
                results[key] = {"spool_octets": octets, "messages": count,
                                "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                                "gb_per_s": round(octets / wall / 1e9, 3),
                                "msgs_per_s": round(count / wall)}
                print(f"{key:32} {octets / 1e9:6.2f} GB in {wall:6.3f} s = "
                      f"{octets / wall / 1e9:5.2f} GB/s ({count / wall:,.0f} msgs/s, "
                      f"CPU {cpu:.3f} s)", flush=True)
            shutil.rmtree(spool)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
