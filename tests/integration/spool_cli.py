"""Reading a spool through `mxring spool`, for the integration tests."""
import hashlib
import json
import os
import subprocess

from conftest import MXRINGD
from spool_records import read_spool

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


def assert_acknowledged_stored(directory, acks):
    """Every acknowledged (queue id, SHA-256 of what was sent) pair is in the spool, byte for
    byte after the trace header, read by the reader written from SPOOL-FORMAT.md alone.
    Returns what that reader found."""
    stored = read_spool(directory)
    missing = [queue_id for queue_id, _ in acks if queue_id not in stored]
    assert not missing, f"{len(missing)} acknowledged messages missing, e.g. {missing[:3]}"
    for queue_id, digest in acks:
        assert hashlib.sha256(without_trace_header(stored[queue_id])).hexdigest() == digest
    return stored
