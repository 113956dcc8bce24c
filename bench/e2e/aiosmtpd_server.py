#!/usr/bin/env python3
"""aiosmtpd (Debian's python3-aiosmtpd) as a peer: one asyncio loop whose handler discards,
writes each message to a file (temp file, then rename), or does that and fsyncs before the
250. Its host name is given, so it never asks DNS (aiosmtpd would call getfqdn()).

    aiosmtpd_server.py PORT discard|file|fsync [DIRECTORY]
"""
import asyncio
import os
import sys
import uuid

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, mode, directory):
        self.mode, self.directory = mode, directory

    async def handle_DATA(self, server, session, envelope):
        if self.mode != "discard":
            name = uuid.uuid4().hex
            temp = os.path.join(self.directory, "tmp", name)
            with open(temp, "wb") as f:
                f.write(envelope.content)
                if self.mode == "fsync":
                    f.flush()
                    os.fsync(f.fileno())
            os.rename(temp, os.path.join(self.directory, "new", name))
        return "250 2.0.0 Ok"


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    directory = sys.argv[3] if len(sys.argv) > 3 else None
    if directory:
        for sub in ("tmp", "new"):
            os.makedirs(os.path.join(directory, sub), exist_ok=True)
    handler = Handler(mode, directory)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="bench.test", data_size_limit=200 * 1024 * 1024,
                     enable_SMTPUTF8=True),
        host="127.0.0.1", port=port, backlog=1024))
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
