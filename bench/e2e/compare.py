#!/usr/bin/env python3
"""The side-by-side comparison (make bench-compare): mxringd in discard, none and fsync modes
beside Postfix smtp-sink, Postfix smtpd, Haraka (discard and a file per message), aiosmtpd
(discard and a file per message), Exim and OpenSMTPD (each into its own queue), each driven
with the same load, in the same run.

Load: mxring bench (PIPELINING on, 100 connections, CPU 0) for a fixed time per run, in five
shapes: 1 KiB, 10 KiB, 100 KiB, 1 KiB to 10 recipients, 1 KiB on a new connection per
message; and Postfix's smtp-source (100 sessions, 1 KiB) as a client nobody here wrote.
Every server is pinned to CPU 1. Runs are interleaved, repeated, and reported as medians.

Prints one table (msgs/s median and range, server CPU per message, p99 end of data to 250,
ratios to mxring), writes the numbers to build/bench-compare/results.json and a chart to
build/bench-compare/compare.png (gnuplot).

    /usr/bin/python3 bench/e2e/compare.py [--duration 4] [--repetitions 3] [--servers a,b]
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
from measure import LOAD_CPU, MXRINGD, ROOT, free_port  # noqa: E402
from peers import PEERS, start_peer  # noqa: E402

MXRING = os.path.join(os.path.dirname(MXRINGD), "mxring")
OUT = os.path.join(ROOT, "build", "bench-compare")
SHAPES = {
    "1k": ["--size", "1024"],
    "10k": ["--size", "10k"],
    "100k": ["--size", "100k"],
    "1k x10 rcpt": ["--size", "1024", "--rcpts", "10"],
    "1k new conn": ["--size", "1024", "--messages-per-connection", "1"],
}


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# Haraka answers "503 Bad sequence of commands - pipelined after end of DATA" to a MAIL
# that follows the content in the same send (RFC 2920 §3.1 allows it): it gets one round
# trip more per message.
NO_CHAIN = {"haraka-discard", "haraka-queue"}


def with_mxring_bench(server, port, shape, duration):
    extra = ["--no-chain"] if server in NO_CHAIN else []
    result = subprocess.run([MXRING, "bench", "--target", f"127.0.0.1:{port}", "--connections",
                             "100", "--duration", str(duration), "--cpu", str(LOAD_CPU), "--json",
                             *SHAPES[shape], *extra], capture_output=True, text=True,
                            timeout=duration * 20 + 120)
    report = json.loads(result.stdout)
    return {"messages": report["messages"], "seconds": report["elapsed_s"],
            "errors": report["errors"], "error_kinds": report["error_kinds"],
            "p99_eod_us": report["latency_us"].get("end_of_data", {}).get("p99", 0)}


def with_smtp_source(port, messages):
    started = time.monotonic()
    result = subprocess.run(["taskset", "-c", str(LOAD_CPU), "smtp-source", "-d", "-s", "100", "-m",
                             str(messages), "-l", "1024", "-f", "sender@client.test", "-t",
                             "rcpt@localhost", f"127.0.0.1:{port}"],
                            capture_output=True, text=True, timeout=600)
    return {"messages": messages, "seconds": time.monotonic() - started,
            "errors": 1 if result.returncode or result.stderr else 0,
            "error_kinds": {"smtp-source": result.stderr[:200]} if result.stderr else {},
            "p99_eod_us": None}


def run_one(server, shape, load, duration, workdir, rate_hint):
    port = free_port()
    peer = start_peer(server, port, workdir)
    try:
        before = peer.cpu_seconds()
        if load == "mxring bench":
            result = with_mxring_bench(server, port, shape, duration)
        else:  # about `duration` seconds' worth at the rate mxring bench reached
            result = with_smtp_source(port, max(500, int(rate_hint * duration / 2)))
        result["server_cpu_s"] = peer.cpu_seconds() - before
    finally:
        peer.stop()
        for name in os.listdir(workdir):
            shutil.rmtree(os.path.join(workdir, name), ignore_errors=True)
    result["msgs_per_s"] = result["messages"] / result["seconds"] if result["seconds"] else 0
    result["server_cpu_us_per_msg"] = (result["server_cpu_s"] * 1e6 / result["messages"]
                                       if result["messages"] else None)
    return result


def summarise(samples):
    rates = [s["msgs_per_s"] for s in samples]
    cpu = [s["server_cpu_us_per_msg"] for s in samples if s["server_cpu_us_per_msg"]]
    p99 = [s["p99_eod_us"] for s in samples if s["p99_eod_us"]]
    return {"msgs_per_s": statistics.median(rates), "min": min(rates), "max": max(rates),
            "server_cpu_us_per_msg": statistics.median(cpu) if cpu else None,
            "p99_eod_ms": statistics.median(p99) / 1000 if p99 else None,
            "errors": sum(s["errors"] for s in samples),
            "error_kinds": samples[-1]["error_kinds"]}


def chart(results, servers, path):
    data = os.path.join(OUT, "chart.dat")
    with open(data, "w") as f:
        for server in servers:
            row = [results.get(f"{server}|{s}|mxring bench", {}).get("msgs_per_s", 0)
                   for s in ("1k", "10k", "100k")]
            cpu = [results.get(f"{server}|{s}|mxring bench", {}).get("server_cpu_us_per_msg") or 0
                   for s in ("1k", "10k", "100k")]
            f.write(f'"{server}" ' + " ".join(f"{v:.0f}" for v in row) + " " +
                    " ".join(f"{v:.1f}" for v in cpu) + "\n")
    script = f"""set terminal png size 1500,900
set output '{path}'
set multiplot layout 2,1 title 'SMTP receivers on one core, load by mxring bench (100 connections, PIPELINING)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right
set logscale y
set grid ytics
set xtics rotate by -20
set rmargin 12
set ylabel 'messages/s (log)'
plot '{data}' using 2:xtic(1) title '1 KiB', '' using 3 title '10 KiB', '' using 4 title '100 KiB'
set ylabel 'server CPU µs per message (log)'
plot '{data}' using 5:xtic(1) title '1 KiB', '' using 6 title '10 KiB', '' using 7 title '100 KiB'
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=4)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--servers", default=",".join(PEERS))
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args()
    servers = args.servers.split(",")
    shapes = args.shapes.split(",")
    os.makedirs(OUT, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="compare-", dir="/tmp")  # the postfix user must reach it
    os.chmod(workdir, 0o755)
    samples = {}
    for _ in range(args.repetitions):  # interleaved: drift hits every server alike
        for shape in shapes:
            for server in servers:
                key = f"{server}|{shape}|mxring bench"
                samples.setdefault(key, []).append(
                    run_one(server, shape, "mxring bench", args.duration, workdir, 0))
                if shape == "1k":
                    hint = samples[key][-1]["msgs_per_s"]
                    samples.setdefault(f"{server}|1k|smtp-source", []).append(
                        run_one(server, shape, "smtp-source", args.duration, workdir, hint))
    shutil.rmtree(workdir, ignore_errors=True)
    results = {key: summarise(s) for key, s in samples.items()}
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"command": " ".join(sys.argv), "results": results, "raw": samples}, f,
                  indent=1)
    print(f"{'shape':<12} {'load':<13} {'server':<17} {'msgs/s (min-max)':>26} "
          f"{'CPU µs/msg':>10} {'p99 eod ms':>10} {'mx-discard÷':>11} {'mx-fsync÷':>9}")
    for key, r in results.items():
        server, shape, load = key.split("|")
        discard = results.get(f"mxring-discard|{shape}|{load}", {}).get("msgs_per_s")
        fsync = results.get(f"mxring-fsync|{shape}|{load}", {}).get("msgs_per_s")
        cpu = f"{r['server_cpu_us_per_msg']:.1f}" if r["server_cpu_us_per_msg"] else "-"
        p99 = f"{r['p99_eod_ms']:.2f}" if r["p99_eod_ms"] else "-"
        ratio = lambda m: f"{m / r['msgs_per_s']:.2f}" if m and r["msgs_per_s"] else "-"
        errors = f"  ERRORS {r['errors']} {r['error_kinds']}" if r["errors"] else ""
        print(f"{shape:<12} {load:<13} {server:<17} {r['msgs_per_s']:>10.0f} "
              f"({r['min']:>6.0f}-{r['max']:>7.0f}) {cpu:>10} {p99:>10} {ratio(discard):>11} "
              f"{ratio(fsync):>9}{errors}")
    try:
        chart(results, servers, os.path.join(OUT, "compare.png"))
        print(f"chart: {os.path.join(OUT, 'compare.png')}")
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"no chart: {e}")


if __name__ == "__main__":
    main()
