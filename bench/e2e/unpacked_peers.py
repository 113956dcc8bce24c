"""Exim and OpenSMTPD for the comparison. Both conflict with the postfix package on Debian, so
each is fetched from Debian's archive with `apt-get download` and unpacked under build/peers
(never installed), then run as ../shared notes describe:

- Each runs in a private mount namespace (unshare) whose /etc/resolv.conf names a loopback
  resolver that is not there: no query can leave the machine.
- The accounts they drop privileges to (Debian-exim; opensmtpd and opensmtpq) exist only for
  them, through nss_wrapper (libnss-wrapper), instead of being added to the system.
- exim: `queue_only`, so a message is received, written to Exim's spool and never delivered.
  No ident or reverse lookups, TLS not offered, no per-connection or per-host limits.
- opensmtpd: the message is committed to OpenSMTPD's queue (which it does not fsync) and
  never delivered (`-P mta -P mda`). Its compiled-in spool, /var/spool/smtpd, is a directory
  of the run's own inside the namespace. Its listen backlog, hard-coded to 5, is raised to
  1024 by a one-call preload (`listen_backlog.c`): with 5, the kernel loses most of the 100
  simultaneous handshakes and the run would measure the backlog, not the server. No session
  message limit (100 by default).

command(name, port, workdir) returns the command line to start pinned."""
import os
import shutil
import subprocess

from measure import ROOT

PEERS_DIR = os.path.join(ROOT, "build", "peers")
NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"  # tools/install-deps
PACKAGES = {"exim": ["exim4-base", "exim4-daemon-light"], "opensmtpd": ["opensmtpd"]}
ACCOUNTS = {"exim": ["Debian-exim"], "opensmtpd": ["opensmtpd", "opensmtpq"]}
FIRST_UID = 64000  # unused by Debian's system and user accounts

EXIM_CONFIG = """primary_hostname = exim.bench.test
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = {work}/spool
log_file_path = {work}/log/%slog
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
keep_environment =
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
queue_only
smtp_accept_max = 500
smtp_connect_backlog = 1024
smtp_accept_max_per_connection = 0
domainlist local_domains = localhost
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  accept domains = +local_domains
  deny
"""

OPENSMTPD_CONFIG = """smtp limit max-mails 1000000000
listen on 127.0.0.1 port {port} hostname opensmtpd.bench.test
action "held" relay host smtp://127.0.0.1:9
match from any for domain "localhost" action "held"
"""


def unpacked(name):
    """The package's files under build/peers/NAME/root, fetched and unpacked once."""
    root = os.path.join(PEERS_DIR, name, "root")
    if os.path.isdir(root):
        return root
    debs = os.path.join(PEERS_DIR, name, "debs")
    os.makedirs(debs, exist_ok=True)
    os.chmod(debs, 0o777)  # apt fetches as its own user when it can
    fetched = subprocess.run(["apt-get", "download", *PACKAGES[name]], cwd=debs,
                             capture_output=True, text=True, timeout=600)
    if fetched.returncode != 0:
        raise RuntimeError(f"apt-get download {' '.join(PACKAGES[name])}: {fetched.stderr}")
    staging = root + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    for deb in sorted(os.listdir(debs)):
        subprocess.run(["dpkg-deb", "-x", os.path.join(debs, deb), staging], check=True)
    os.rename(staging, root)
    return root


def listen_backlog_preload():
    library = os.path.join(PEERS_DIR, "listen_backlog.so")
    source = os.path.join(os.path.dirname(__file__), "listen_backlog.c")
    if not os.path.exists(library) or os.path.getmtime(library) < os.path.getmtime(source):
        os.makedirs(PEERS_DIR, exist_ok=True)
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", library, source, "-ldl"],
                       check=True)
    return library


def write_accounts(work, names):
    """passwd and group files: the system's, plus each of `names`, and the uid of each."""
    uids = {name: FIRST_UID + i for i, name in enumerate(names)}
    with open("/etc/passwd") as f:
        passwd = f.read()
    with open("/etc/group") as f:
        group = f.read()
    for name, uid in uids.items():
        passwd += f"{name}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin\n"
        group += f"{name}:x:{uid}:\n"
    for file, text in (("passwd", passwd), ("group", group)):
        with open(os.path.join(work, file), "w") as f:
            f.write(text)
    return uids


def in_private_namespace(work, binds, command, preloads):
    """`command` in a mount namespace of its own: each (source, target) of `binds` mounted
    over target, /etc/resolv.conf naming a loopback resolver, the accounts from `work`."""
    with open(os.path.join(work, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\n")
    mounts = [("resolv.conf", "/etc/resolv.conf"), *binds]
    script = " && ".join(f"mount --bind {os.path.join(work, source)} {target}"
                         for source, target in mounts)
    environment = [f"LD_PRELOAD={':'.join(preloads)}",
                   f"NSS_WRAPPER_PASSWD={os.path.join(work, 'passwd')}",
                   f"NSS_WRAPPER_GROUP={os.path.join(work, 'group')}"]
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            f'{script} && exec env {" ".join(environment)} "$@"', "sh", *command]


def command(name, port, workdir):
    root = unpacked(name)
    work = os.path.join(workdir, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    uids = write_accounts(work, ACCOUNTS[name])
    preloads = [NSS_WRAPPER]
    if name == "exim":
        for directory in ("spool", "log"):
            os.makedirs(os.path.join(work, directory))
            os.chown(os.path.join(work, directory), uids["Debian-exim"], uids["Debian-exim"])
        config = os.path.join(work, "exim.conf")
        with open(config, "w") as f:
            f.write(EXIM_CONFIG.format(work=work, port=port))
        return in_private_namespace(work, [], [os.path.join(root, "usr/sbin/exim4"), "-C",
                                               config, "-bdf"], preloads)
    for directory in ("spool", "varlib/opensmtpd/empty", "run"):
        os.makedirs(os.path.join(work, directory))
    config = os.path.join(work, "smtpd.conf")
    with open(config, "w") as f:
        f.write(OPENSMTPD_CONFIG.format(port=port))
    binds = [("spool", "/var/spool"), ("varlib", "/var/lib"), ("run", "/run")]
    return in_private_namespace(
        work, binds, [os.path.join(root, "usr/sbin/smtpd"), "-d", "-P", "mta", "-P", "mda", "-f",
                      config], preloads + [listen_backlog_preload()])
