"""A real IMAP server for the tests: Debian's Dovecot with a throwaway config, on 127.0.0.1.

``dovecot`` (one per test session) starts ``dovecot -F -c CONFIG`` as a child process with
everything under a temp folder: its base, state and log paths, a passwd-file with plain
passwords, and one Maildir per user. It listens on two free ports of 127.0.0.1: plain IMAP
(which also offers STARTTLS) and implicit TLS, with a self-signed certificate for 127.0.0.1
that a client trusts only through ``[bounces] ca_file``. It never reads or changes the system's
Dovecot config and does not run as a service.

``imap_account`` gives each test its own user (one of ``USERS``, all in the passwd-file from
the start), so tests never see each other's messages; ``ImapAccount.deliver`` puts .eml bytes
straight into that user's INBOX Maildir, as a local delivery agent would.
"""

from __future__ import annotations

import itertools
import mailbox
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from postduif.config import BounceSettings

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
START_TIMEOUT_S = 20.0
PASSWORD = "retour-geheim"
USERS = tuple(f"retour{number}" for number in range(1, 1001))
UTF8_USER, UTF8_PASSWORD = "beheerder", "wachtwoord-café-€"  # for AUTHENTICATE PLAIN

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 0
first_valid_gid = 0
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
ssl_dh = <{root}/dh.pem
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
# Tests log in with wrong passwords on purpose: no penalty delays the next test's login.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"""


@dataclass(frozen=True)
class Dovecot:
    """A running server: where it keeps its files and where it listens."""

    root: Path
    imap_port: int  # plain IMAP, STARTTLS offered
    imaps_port: int  # implicit TLS
    ca_file: Path  # the self-signed certificate, to trust
    mail_uid: int  # who owns the Maildirs (Dovecot refuses uid 0 for mail)
    mail_gid: int

    def add_user(self, name: str) -> ImapAccount:
        """One of the ``USERS`` accounts, its INBOX created empty."""
        maildir = self.root / "home" / name / "Maildir"
        maildir.parent.mkdir(parents=True)
        mailbox.Maildir(maildir, create=True).close()
        account = ImapAccount(self, name, maildir)
        account.give_to_mail_user()
        return account


@dataclass(frozen=True)
class ImapAccount:
    """One user of the server, with its Maildir on disk."""

    server: Dovecot
    username: str
    maildir: Path  # the INBOX; other folders are Maildir++ subfolders ".NAME" in it

    def deliver(self, *messages: bytes) -> None:
        inbox = mailbox.Maildir(self.maildir, create=False)
        for raw in messages:
            inbox.add(raw)
        inbox.close()
        self.give_to_mail_user()

    def give_to_mail_user(self) -> None:
        """Files written by the test (as root) must belong to the user Dovecot reads as."""
        home = self.maildir.parent
        for path in [home, *home.rglob("*")]:
            os.chown(path, self.server.mail_uid, self.server.mail_gid)

    def folder_count(self, folder: str) -> int:
        """Messages in the folder, read from the Maildir itself; -1 if it does not exist."""
        path = self.maildir if folder == "INBOX" else self.maildir / f".{folder}"
        if not path.exists():
            return -1
        return sum(1 for sub in ("cur", "new") for _ in (path / sub).iterdir())

    def settings(self, security: str = "none", **changes: object) -> BounceSettings:
        """``[bounces]`` for this account; the password is in POSTDUIF_TEST_IMAP_PASSWORD."""
        port = self.server.imaps_port if security == "tls" else self.server.imap_port
        base = BounceSettings(
            host="127.0.0.1", port=port, security=security, username=self.username,
            password_env="POSTDUIF_TEST_IMAP_PASSWORD",
            ca_file="" if security == "none" else str(self.server.ca_file),
            folder="INBOX", processed_folder="postduif-processed", timeout=10.0,
            address="", verp=False, soft_limit=3, soft_days=15.0)
        return replace(base, **changes)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _certificate(root: Path) -> None:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    shipped = Path("/usr/share/dovecot/dh.pem")
    if shipped.exists():
        shutil.copy(shipped, root / "dh.pem")
    else:
        subprocess.run(["openssl", "dhparam", "-out", str(root / "dh.pem"), "1024"],
                       check=True, capture_output=True)


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"dovecot exited with {process.returncode}: {text}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                if connection.recv(200).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not answer on 127.0.0.1:{port}")


def _service_users(me: str) -> tuple[str, str]:
    """Dovecot's internal and login users: its login processes refuse to run as root, so as
    root they are the users Debian's package creates (or nobody); otherwise ourselves."""
    if os.getuid() != 0:
        return me, me
    known = {entry.pw_name for entry in pwd.getpwall()}
    internal = "dovecot" if "dovecot" in known else "nobody"
    login = "dovenull" if "dovenull" in known else "nobody"
    return internal, login


def start_dovecot(root: Path) -> tuple[Dovecot, subprocess.Popen[bytes]]:
    """Write the config under ``root`` and start Dovecot in the foreground as a child."""
    for sub in ("run", "state", "home"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "home").chmod(0o755)
    # Every account exists from the start: Dovecot notices a changed passwd-file only after a
    # second or so, too late for a test that adds a user and logs in at once.
    # nodelay: a wrong password is answered at once, not after Dovecot's usual two seconds.
    accounts = [(name, PASSWORD) for name in USERS] + [(UTF8_USER, UTF8_PASSWORD)]
    lines = (f"{name}:{{PLAIN}}{password}::::::nodelay\n" for name, password in accounts)
    (root / "passwd").write_text("".join(lines), encoding="utf-8")
    _certificate(root)
    account = pwd.getpwuid(os.getuid())
    internal, login = _service_users(account.pw_name)
    mail = pwd.getpwnam(internal) if os.getuid() == 0 else account
    imap_port, imaps_port = free_port(), free_port()
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, internal=internal, login=login,
                                    uid=mail.pw_uid, gid=mail.pw_gid,
                                    imap_port=imap_port, imaps_port=imaps_port),
                      encoding="utf-8")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(process, imap_port, root / "dovecot.log")
    except BaseException:
        process.kill()
        process.wait()
        raise
    return Dovecot(root, imap_port, imaps_port, root / "cert.pem", mail.pw_uid,
                   mail.pw_gid), process


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One server for the session, in a folder of its own that the mail user can enter
    (pytest's temp folders are private to root)."""
    from .conftest import require_tool  # here: conftest imports this module's fixtures

    require_tool(Path(DOVECOT).exists(), "dovecot (Debian's dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="postduif-dovecot-"))
    root.chmod(0o755)
    try:
        server, process = start_dovecot(root)
        try:
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


_accounts = itertools.count()


@pytest.fixture
def imap_account(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> ImapAccount:
    """A fresh user with an empty INBOX, its password in the environment."""
    monkeypatch.setenv("POSTDUIF_TEST_IMAP_PASSWORD", PASSWORD)
    return dovecot.add_user(USERS[next(_accounts)])
