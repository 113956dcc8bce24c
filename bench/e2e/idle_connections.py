"""Server memory per idle connection: RSS of mxringd before and after N connections that
have each said EHLO and then wait. Client source addresses are spread over 127.0.0.0/8 so N
can pass the 64K-ports-per-address limit, and the clients are split over several processes
so none needs more descriptors than RLIMIT_NOFILE allows. Bounded: connects N, measures,
closes, stops.

With --churn MESSAGES, the server runs one reactor on SERVER_CPU and, before the idle
connections open and again while they wait, `mxring bench` on LOAD_CPU sends MESSAGES 1 KiB
messages over 50 connections, a new connection for each: what a close costs beside N open
connections (server CPU per connection, from /proc), and whether it grows with N.

usage: idle_connections.py [N] [--churn MESSAGES]   (N default 20000; capped below the
       server's descriptor limit)
"""
import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import signal
import sys

from measure import (LOAD_CPU, MXRINGD, SERVER_CPU, cpu_seconds, free_port, mxring_bench,
                     raise_file_limit, rss_kib, start, wait_for_port)

PER_PROCESS = 4000


async def open_idle(port, index):
    source = f"127.{1 + index // 62500 % 250}.{1 + index // 250 % 250}.{1 + index % 250}"
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    await reader.readline()  # 220
    writer.write(b"EHLO client.bench\r\n")
    await writer.drain()
    while not (line := await reader.readline()).startswith(b"250 "):
        if not line:
            raise RuntimeError("closed during EHLO")
    return writer


def client(port, first, count, ready, done):
    raise_file_limit()

    async def run():
        writers = []
        for batch in range(first, first + count, 250):
            writers += await asyncio.gather(
                *(open_idle(port, i) for i in range(batch, min(first + count, batch + 250))))
        ready.put(len(writers))
        await asyncio.get_running_loop().run_in_executor(None, done.wait)
        for w in writers:
            w.close()

    asyncio.run(run())


def churn(port, server_pid, messages):
    """Server CPU µs per connection and msgs/s while `messages` connections each deliver one."""
    before = cpu_seconds(server_pid)
    report = mxring_bench(port, "--connections", "50", "--messages-per-connection", "1",
                          "--count", str(messages), "--spread-sources", "--cpu", str(LOAD_CPU),
                          timeout=600)
    return {"msgs_per_s": round(report["msgs_per_s"]),
            "server_cpu_us_per_connection":
                round((cpu_seconds(server_pid) - before) * 1e6 / report["messages"], 1)}


def main(count, churn_messages):
    raise_file_limit()
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if count > limit - 200:
        print(f"note: RLIMIT_NOFILE hard limit is {limit}; measuring {limit - 200} connections",
              file=sys.stderr)
        count = limit - 200
    port = free_port()
    server = start([MXRINGD, "--listen", f"127.0.0.1:{port}", "--durability", "discard",
                    "--threads", "1" if churn_messages else "2",
                    "--max-connections", str(count + 100), "--max-connections-per-ip", "0"],
                   cpu=SERVER_CPU if churn_messages else None, stderr=open(os.devnull, "w"))
    workers = []
    try:
        wait_for_port(port)
        report = {}
        if churn_messages:
            churn(port, server.pid, max(1, churn_messages // 10))  # warm-up: first-use costs
            report["churn_alone"] = churn(port, server.pid, churn_messages)
        before = rss_kib(server.pid)
        ready, done = multiprocessing.Queue(), multiprocessing.Event()
        for first in range(0, count, PER_PROCESS):
            p = multiprocessing.Process(target=client, args=(port, first,
                                                             min(PER_PROCESS, count - first),
                                                             ready, done))
            p.start()
            workers.append(p)
        opened = sum(ready.get(timeout=300) for _ in workers)
        after = rss_kib(server.pid)
        if churn_messages:
            report["churn_beside_idle"] = churn(port, server.pid, churn_messages)
        done.set()
        print(json.dumps({"connections": opened, "rss_before_kib": before,
                          "rss_after_kib": after,
                          "bytes_per_connection": round((after - before) * 1024 / opened),
                          **report}))
    finally:
        for p in workers:
            p.join(timeout=30)
        server.send_signal(signal.SIGKILL)
        server.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("connections", type=int, nargs="?", default=20000)
    parser.add_argument("--churn", type=int, default=0, metavar="MESSAGES")
    arguments = parser.parse_args()
    main(arguments.connections, arguments.churn)
