"""What one durable write costs on the spool's disk, and how SMTP load moves it: a buffered
write of N KiB into a zero-filled file (as a writer's group commit lands in a prepared
segment) and one fdatasync, repeated, timed around the fdatasync, under four conditions:

  idle         nothing else runs;
  spinning     both cores busy with processes that only compute;
  load/server  mxringd in discard mode (it writes nothing) on the server's core, mxring bench
               (100 connections, 1 KiB) on the other, the syncs on the server's core, where
               a writer thread would be;
  load/other   the same load, the syncs on the load generator's core.

Discard mode keeps mxringd's own I/O out of it: whatever the load adds to a sync is what the
machine adds, not what the writer does. Bounded: a fixed count of syncs per condition, and
each load run ends when its syncs are done (or at its --duration).

usage: sync_under_load.py [--dir DIR] [--sizes 4,64] [--count 300] [--json]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

from measure import LOAD_CPU, MXRINGD, ROOT, SERVER_CPU, free_port, mxringd_command, start, \
    wait_for_port

FILE_SIZE = 256 << 20  # room for every write of a condition without wrapping


def prepared_file(directory):
    """A zero-filled, synced file: the writes below overwrite blocks already written."""
    fd, path = tempfile.mkstemp(dir=directory, prefix="sync-under-load.")
    zeros = b"\0" * (1 << 20)
    for offset in range(0, FILE_SIZE, len(zeros)):
        os.pwrite(fd, zeros, offset)
    os.fsync(fd)
    return fd, path


def time_syncs(fd, kib, count, cpu):
    """Microseconds each fdatasync took after a write of `kib` KiB, on `cpu`."""
    os.sched_setaffinity(0, {cpu})
    data = os.urandom(kib * 1024)
    offset, took = 0, []
    for _ in range(count):
        if offset + len(data) > FILE_SIZE:
            offset = 0
        os.pwrite(fd, data, offset)
        offset += len(data)
        started = time.perf_counter()
        os.fdatasync(fd)
        took.append((time.perf_counter() - started) * 1e6)
    return {"p50_us": round(statistics.median(took)),
            "p90_us": round(statistics.quantiles(took, n=10)[-1]),
            "mean_us": round(statistics.fmean(took))}


class Spinners:
    """One process per core that only computes."""

    def __enter__(self):
        self.processes = [start(["/usr/bin/python3", "-c", "while True: pass"], cpu=cpu)
                          for cpu in (LOAD_CPU, SERVER_CPU)]
        return self

    def __exit__(self, *_):
        for process in self.processes:
            process.kill()
            process.wait()


class DiscardLoad:
    """mxringd discard on SERVER_CPU taking mxring bench's standard load from LOAD_CPU. The
    load's warm-up covers the connections' start; ended by SIGTERM, mxring bench reports its
    rate over the rest, the time the syncs were measured."""

    def __enter__(self):
        port = free_port()
        self.server = start(mxringd_command(port, "discard"), cpu=SERVER_CPU,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(port, timeout=30)
        self.load = start([os.path.join(os.path.dirname(MXRINGD), "mxring"), "bench",
                           "--target", f"127.0.0.1:{port}", "--connections", "100", "--size",
                           "1024", "--warmup", "2", "--duration", "300", "--cpu", str(LOAD_CPU),
                           "--json"], stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        return self

    def __exit__(self, *_):
        self.load.terminate()
        report = json.loads(self.load.communicate(timeout=60)[0])
        self.msgs_per_s = round(report["msgs_per_s"])
        self.server.terminate()
        self.server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=os.path.join(ROOT, "var"),
                        help="a directory on the disk to measure (default: the project's var/)")
    parser.add_argument("--sizes", default="4,64", help="KiB written before each fdatasync")
    parser.add_argument("--count", type=int, default=300, help="syncs per size and condition")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    fd, path = prepared_file(args.dir)
    results = {}
    try:
        def measure(condition, cpu):
            results[condition] = {f"{kib} KiB": time_syncs(fd, kib, args.count, cpu)
                                  for kib in sizes}

        measure("idle", SERVER_CPU)
        with Spinners():
            measure("spinning", SERVER_CPU)
        for condition, cpu in (("load/server", SERVER_CPU), ("load/other", LOAD_CPU)):
            with DiscardLoad() as load:
                measure(condition, cpu)
            results[condition]["load msgs/s"] = load.msgs_per_s
    finally:
        os.close(fd)
        os.unlink(path)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'condition':<12} " + " ".join(f"{f'{k} KiB p50/p90/mean µs':>26}" for k in sizes)
          + "  load msgs/s")
    for condition, row in results.items():
        cells = " ".join(f"{'{p50_us}/{p90_us}/{mean_us}'.format(**row[f'{k} KiB']):>26}"
                         for k in sizes)
        print(f"{condition:<12} {cells}  {row.get('load msgs/s') or '-'}")


if __name__ == "__main__":
    main()
