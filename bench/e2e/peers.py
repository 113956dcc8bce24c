"""The servers the comparison runs, each started on a loopback port pinned to CPU 1 and set up
for speed as ../shared notes describe (no DNS anywhere, no rate limits, no delays):

- smtp-sink: Postfix's test sink (discards).
- postfix-smtpd: a private Postfix, every message durably queued (fsync), held.
- haraka-discard / haraka-queue: Haraka 3 from npm, one process, rDNS turned off by a local
  plugin; queue/discard, or queue/test (a file per message, no fsync).
- aiosmtpd-discard / aiosmtpd-file: Debian's aiosmtpd, discarding or writing a file per
  message (temp + rename, no fsync).
- exim: Exim 4 receiving into its queue (`queue_only`), never delivering.
- opensmtpd: OpenSMTPD committing to its queue, never delivering.
  (Both unpacked from Debian's archive, not installed: unpacked_peers.py.)
- mxring-discard / mxring-none / mxring-fsync: mxringd, one reactor; mxring-fsync-direct
  the same with --direct-io (one write in flight, by the writer, as by default).

start(name, port, workdir) returns a Peer with cpu_seconds() and stop()."""
import os
import shutil
import signal
import subprocess
import time

from measure import SERVER_CPU, mxringd_command, start, tree_cpu_seconds, wait_for_port
from postfix_instance import PostfixInstance
import unpacked_peers

PEERS = ["smtp-sink", "postfix-smtpd", "haraka-discard", "haraka-queue", "aiosmtpd-discard",
         "aiosmtpd-file", "exim", "opensmtpd", "mxring-discard", "mxring-none", "mxring-fsync",
         "mxring-fsync-direct"]
HARAKA_DIR = os.path.join(unpacked_peers.PEERS_DIR, "haraka")

NO_RDNS_PLUGIN = """// The benchmark must not ask DNS: answer Haraka's reverse lookup locally.
exports.hook_lookup_rdns = function (next) { next(OK, 'client.bench.test') }
"""


def install_haraka():
    """Haraka 3 from npm into build/peers/haraka (once)."""
    binary = os.path.join(HARAKA_DIR, "node_modules", ".bin", "haraka")
    if os.path.exists(binary):
        return binary
    if shutil.which("npm") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "npm"], check=True)
    os.makedirs(HARAKA_DIR, exist_ok=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", HARAKA_DIR,
                    "Haraka@3"], check=True, capture_output=True, timeout=900)
    return binary


class Peer:
    def __init__(self, process, cpu, stop):
        self.process, self.cpu_seconds, self._stop = process, cpu, stop

    def stop(self):
        self._stop()


def _terminate(process):
    def stop():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return stop


def _haraka(port, workdir, queue):
    binary = install_haraka()
    instance = os.path.join(workdir, "haraka")
    shutil.rmtree(instance, ignore_errors=True)
    subprocess.run([binary, "-i", instance], check=True, capture_output=True)
    config = os.path.join(instance, "config")
    with open(os.path.join(config, "smtp.ini"), "w") as f:
        f.write(f"listen=127.0.0.1:{port}\nnodes=0\ndaemonize=false\n")
    with open(os.path.join(config, "plugins"), "w") as f:
        f.write(f"no_rdns\nrcpt_to.in_host_list\n{queue}\n")
    with open(os.path.join(config, "host_list"), "w") as f:
        f.write("localhost\n")
    with open(os.path.join(config, "log.ini"), "w") as f:
        f.write("[main]\nlevel=warn\n")
    with open(os.path.join(instance, "plugins", "no_rdns.js"), "w") as f:
        f.write(NO_RDNS_PLUGIN)
    mail = os.path.join(workdir, "haraka-mail")
    os.makedirs(mail, exist_ok=True)
    # queue/test writes a file per message in TMPDIR; queue/discard wants the variable.
    env = dict(os.environ, TMPDIR=mail, YES_REALLY_DO_DISCARD="1")
    process = start([binary, "-c", instance], cpu=SERVER_CPU, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, env=env)
    return process


def start_peer(name, port, workdir):
    if name == "postfix-smtpd":
        instance = PostfixInstance(port, cpu=SERVER_CPU, parent=None)
        master = instance.master_pid()
        wait_for_port(port)
        return Peer(None, lambda: tree_cpu_seconds(master), instance.stop)
    if name == "smtp-sink":
        process = start(["smtp-sink", "-u", "nobody", "-h", "bench.test", "-m", "1024",
                         f"127.0.0.1:{port}", "1024"], cpu=SERVER_CPU, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
    elif name.startswith("haraka"):
        process = _haraka(port, workdir, "queue/discard" if name == "haraka-discard" else "queue/test")
    elif name in ("exim", "opensmtpd"):
        process = start(unpacked_peers.command(name, port, workdir), cpu=SERVER_CPU,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif name.startswith("aiosmtpd"):
        mode = "discard" if name == "aiosmtpd-discard" else "file"
        process = start(["/usr/bin/python3", os.path.join(os.path.dirname(__file__),
                                                          "aiosmtpd_server.py"), str(port), mode,
                         os.path.join(workdir, "aiosmtpd-mail")], cpu=SERVER_CPU,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        mode = name.split("-", 1)[1]
        extra = ["--direct-io"] if mode == "fsync-direct" else []
        command = mxringd_command(port, mode.split("-")[0], os.path.join(workdir, "mxring-spool"),
                                  *extra)
        process = start(command, cpu=SERVER_CPU, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, timeout=60)
    time.sleep(0.3)
    # The process and anything it started (node's helpers, for one).
    return Peer(process, lambda: tree_cpu_seconds(process.pid), _terminate(process))
