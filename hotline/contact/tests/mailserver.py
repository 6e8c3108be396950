"""Real mail servers on loopback for the email channel's tests: Debian's dovecot as the
hotline's IMAP mailbox (an unprivileged instance in a temporary directory) and aiosmtpd
as the SMTP server that records what the hotline sends."""

import asyncio
import email
import imaplib
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from email import policy
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "Mailbox@2026"
PORTS = range(18300, 18400)  # this suite's loopback ports


def free_port(start: int = PORTS.start) -> int:
    for port in range(start, PORTS.stop):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("18300-18399 之间没有空闲端口")


def _wait_listening(port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"端口 {port} 未在 {seconds} 秒内开始监听")


class Dovecot:
    """A dovecot IMAP server on 127.0.0.1 with mailboxes ``box01`` … ``box40`` (password
    :data:`PASSWORD`), each a Maildir under the temporary directory. Use as a context
    manager; :meth:`mailbox` hands out an unused one."""

    USERS = [f"box{n:02d}" for n in range(1, 41)]

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="hotline-dovecot-"))
        self.port = free_port()
        self.process = None
        self._next = 0
        # dovecot will not serve mail as root: as root, the mail belongs to "mail"
        if os.geteuid() == 0:
            user = pwd.getpwnam("mail")
            self.uid, self.gid = user.pw_uid, user.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()

    def __enter__(self):
        root = self.root
        root.chmod(0o755)  # dovecot's login processes run as dovenull
        (root / "home").mkdir()
        if os.geteuid() == 0:
            os.chown(root / "home", self.uid, self.gid)
        (root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in self.USERS))
        (root / "dovecot.conf").write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = {self.uid}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={root}/home/%u
}}
"""
        )
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait_listening(self.port)
        except RuntimeError:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def mailbox(self) -> "Mailbox":
        user = self.USERS[self._next]
        self._next += 1
        return Mailbox(self.port, user)


class Mailbox:
    """One IMAP account of the test dovecot: what the entry's settings name, and the
    citizen's side — mail arriving in it (IMAP APPEND, as a delivery agent would) and
    its flags."""

    def __init__(self, port: int, user: str):
        self.port, self.user = port, user

    def settings(self, **more) -> dict:
        return {
            "imap_host": "127.0.0.1",
            "imap_port": str(self.port),
            "imap_security": "none",
            "username": self.user,
            "password": PASSWORD,
            "folder": "INBOX",
            **more,
        }

    def _session(self) -> imaplib.IMAP4:
        box = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        box.login(self.user, PASSWORD)
        return box

    def deliver(self, raw: bytes) -> None:
        """A mail arrives in the mailbox (unread)."""
        box = self._session()
        try:
            status, detail = box.append("INBOX", None, None, raw)
            assert status == "OK", detail
        finally:
            box.logout()

    def unseen(self) -> int:
        box = self._session()
        try:
            box.select("INBOX")
            _status, data = box.uid("SEARCH", None, "UNSEEN")
            return len((data[0] or b"").split())
        finally:
            box.logout()

    def mark_all_unseen(self) -> None:
        """As if the hotline had crashed before marking what it took."""
        box = self._session()
        try:
            box.select("INBOX")
            box.store("1:*", "-FLAGS", "(\\Seen)")
        finally:
            box.logout()


class Inbox:
    """aiosmtpd handler: every mail the hotline sends."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def mails(self) -> list:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


class Smtp:
    """aiosmtpd on 127.0.0.1 standing in for the hotline's outgoing mail server; it asks
    for the mailbox's login (AUTH PLAIN/LOGIN) as a provider's server does."""

    def __init__(self, username: str, password: str = PASSWORD):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        def authenticate(server, session, envelope, mechanism, auth_data):
            login = getattr(auth_data, "login", b"") or b""
            secret = getattr(auth_data, "password", b"") or b""
            ok = login.decode() == username and secret.decode() == password
            return AuthResult(success=ok, handled=False)

        self.inbox = Inbox()
        self.port = free_port(18350)
        self.controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            auth_require_tls=False,  # loopback only
        )
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command log

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        asyncio.set_event_loop(None)

    def stop(self) -> None:
        """The server goes away (a test of a peer that is down)."""
        if self.controller.server is not None:
            self.controller.stop()

    def settings(self) -> dict:
        return {"smtp_host": "127.0.0.1", "smtp_port": str(self.port), "smtp_security": "none"}
