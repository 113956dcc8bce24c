"""A private Postfix smtpd instance for the comparison, set up as ../shared notes describe:
every message durably queued (held, never delivered), no flow delay, no DNS, no rate limits,
150 smtpd processes. Runs in the foreground under its own directory; removed afterwards."""
import os
import pwd
import shutil
import subprocess
import tempfile
import time

MAIN_CF = """compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.test
mydomain = bench.test
myorigin = bench.test
mydestination = localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtp_host_lookup = native
smtpd_recipient_restrictions = check_recipient_access static:HOLD, permit_mynetworks, reject
in_flow_delay = 0
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_error_sleep_time = 0
default_process_limit = 200
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = /dev/stdout
"""

MASTER_CF = """127.0.0.1:{port} inet n - n - 150 smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


class PostfixInstance:
    def __init__(self, port, cpu, parent, main_extra="", master_extra=""):
        self.root = tempfile.mkdtemp(prefix="postfix-bench-", dir=parent)
        os.chmod(self.root, 0o755)
        for d in ("etc", "queue", "data"):
            os.makedirs(os.path.join(self.root, d))
        postfix = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.root, "data"), postfix.pw_uid, postfix.pw_gid)
        with open(os.path.join(self.root, "etc/main.cf"), "w") as f:
            f.write(MAIN_CF.format(root=self.root) + main_extra.format(root=self.root))
        with open(os.path.join(self.root, "etc/master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=port) + master_extra)
        etc = os.path.join(self.root, "etc")
        # Creates the queue directories with Postfix's owners and modes (logging to stdout:
        # a log file would need postlogd, which is not running yet).
        subprocess.run(["postfix", "-c", etc, "check"], capture_output=True)
        self.log = open(os.path.join(self.root, "start.log"), "w")
        self.process = subprocess.Popen(["taskset", "-c", str(cpu), "postfix", "-c", etc,
                                         "start-fg"], stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        self.etc = etc

    def master_pid(self):
        path = os.path.join(self.root, "queue/pid/master.pid")
        for _ in range(100):
            try:
                with open(path) as f:
                    return int(f.read().strip())
            except (OSError, ValueError):
                time.sleep(0.05)
        raise RuntimeError("postfix master did not start")

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)
