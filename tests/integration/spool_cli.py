"""Reading a spool through `mxring spool`, for the integration tests."""
import json
import os
import subprocess

from conftest import MXRINGD

MXRING = os.path.join(os.path.dirname(MXRINGD), "mxring")


def spool(directory, *args):
    return subprocess.run([MXRING, "spool", "--dir", str(directory), *args],
                          capture_output=True, timeout=60)


def without_trace_header(stored):
    """The stored message minus mxring's Received: field (its first line and folded lines)."""
    lines = stored.split(b"\r\n")
    assert lines[0].startswith(b"Received: from ")
    i = 1
    while lines[i].startswith(b"\t"):
        i += 1
    return b"\r\n".join(lines[i:])


def stored_ids(directory):
    listing = spool(directory, "ls").stdout.decode().splitlines()
    return [line.split()[0] for line in listing]


def stored_records(directory):
    """(envelope as `show` prints it, message as `cat` prints it) for every stored message."""
    return [(json.loads(spool(directory, "show", queue_id).stdout),
             spool(directory, "cat", queue_id).stdout) for queue_id in stored_ids(directory)]
