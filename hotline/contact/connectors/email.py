"""Email (邮件): a mailbox of the hotline, read over IMAP and answered over SMTP.

**In.** The worker polls each active entry every minute (:meth:`EmailConnector.poll`):
unread mail of the entry's folder is fetched without marking it, read
(:mod:`.mail_parse`: every Chinese charset, encoded headers, HTML-only mail, the quoted
previous mail cut away) and handed to
:func:`hotline.contact.services.inbound_receive` — the text with the first attachment,
then one item per further attachment — and only then marked ``\\Seen``. The Message-ID
is the de-duplication key, so a mailbox read twice (a crash before the mark) adds
nothing twice. Auto-replies and bounces are logged and dropped; a mail too large, or an
attachment the hotline does not take (``attachment_check``), keeps its text with a note.

**Threading.** A reply whose In-Reply-To or References names a mail of an open session
(one the hotline sent, or one the citizen sent) joins that session, even from another
address; otherwise the citizen's address is sticky as on every channel.

**Out.** An agent's reply (and each notice) is one mail from the entry's address:
``Re: <the first subject> [<session ref>]``, In-Reply-To and References of the
citizen's mail, its own Message-ID (kept as the message's ``external_id``, so the
citizen's answer threads back), UTF-8, the attachment if any. A server that does not
take it raises :class:`~.base.DeliveryError`: the worker retries, then dead-letters.

**Rating.** A message-only channel (:class:`~.base.ReplyConnector`): the numbered menu
goes out as a mail, and a reply whose own text (quote cut) is "1"…"5" is the rating.
"""

import contextlib
import hashlib
import hmac
import imaplib
import logging
import mimetypes
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from django.conf import settings as django_settings
from django.core.files.base import ContentFile

from hotline.core.errors import HotlineError, Unprocessable

from . import register
from .base import DeliveryError, Inbound, ReplyConnector, SettingField, agent_name, rating_reply
from .mail_parse import Mail, message_key, parse, trim_quoted

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "主题："  # the first message of a session carries the mail's subject
DEFAULT_SUBJECT = "您的来信"
MAX_MAIL_BYTES = 30 * 1024 * 1024  # larger mail: only its beginning is read, no attachments
HEAD_BYTES = 512 * 1024  # the beginning read of a mail too large
MAX_MAILS_PER_POLL = 50  # the rest waits for the next minute
MAX_ATTACHMENTS = 10
IMAGE_TYPES = {"jpg", "jpeg", "png"}
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class MailboxError(Exception):
    """The mailbox could not be read (server down, login refused): nothing was taken."""


@dataclass(frozen=True)
class Server:
    """Where and how to reach a mail server."""

    host: str
    port: int
    security: str  # ssl | starttls | none
    username: str
    password: str
    timeout: int


def _setting(entry, key: str, default=""):
    value = (entry.settings or {}).get(key) if entry is not None else None
    return default if value in (None, "") else value


def _security(value: str) -> str:
    value = str(value or "").strip().lower()
    if value not in ("ssl", "starttls", "none"):
        raise Unprocessable(f"邮件服务器加密方式“{value}”无效，应为 ssl、starttls 或 none")
    return value


def _number(value, default: int) -> int:
    try:
        return int(value or default)
    except (TypeError, ValueError):
        raise Unprocessable(f"邮件服务器参数“{value}”应为数字（端口或超时秒数）") from None


def imap_server(entry) -> Server:
    """The entry's mailbox (IMAP)."""
    security = _security(_setting(entry, "imap_security", "ssl"))
    return Server(
        host=str(_setting(entry, "imap_host")),
        port=_number(_setting(entry, "imap_port"), 993 if security == "ssl" else 143),
        security=security,
        username=str(_setting(entry, "username")),
        password=str(_setting(entry, "password")),
        timeout=_number(_setting(entry, "timeout"), 30),
    )


def smtp_server(entry) -> Server:
    """The entry's outgoing server; without ``smtp_host``, the site's (Django EMAIL_*).
    With it, the mailbox account signs in unless SMTP has its own."""
    if not _setting(entry, "smtp_host"):
        if django_settings.EMAIL_USE_SSL:
            security = "ssl"
        else:
            security = "starttls" if django_settings.EMAIL_USE_TLS else "none"
        return Server(
            host=django_settings.EMAIL_HOST,
            port=int(django_settings.EMAIL_PORT),
            security=security,
            username=django_settings.EMAIL_HOST_USER,
            password=django_settings.EMAIL_HOST_PASSWORD,
            timeout=int(django_settings.EMAIL_TIMEOUT or 30),
        )
    security = _security(_setting(entry, "smtp_security", "ssl"))
    defaults = {"ssl": 465, "starttls": 587, "none": 25}
    return Server(
        host=str(_setting(entry, "smtp_host")),
        port=_number(_setting(entry, "smtp_port"), defaults[security]),
        security=security,
        username=str(_setting(entry, "smtp_username", _setting(entry, "username"))),
        password=str(_setting(entry, "smtp_password", _setting(entry, "password"))),
        timeout=_number(_setting(entry, "timeout"), 30),
    )


def from_address(entry) -> str:
    return str(_setting(entry, "from_address", django_settings.DEFAULT_FROM_EMAIL))


# --- reads of the mail threads (the connector's own queries) ------------------------------------


def threaded_session(entry, keys):
    """The open session of this entry's platform and channel that one of ``keys``
    (Message-IDs a reply names) belongs to, or None."""
    from ..lifecycle import STICKY_STATES
    from ..models import Message

    if not keys:
        return None
    found = (
        Message.objects.select_related("session")
        .filter(
            session__platform_id=entry.platform_id,
            session__channel=entry.channel,
            session__state__in=list(STICKY_STATES),
            external_id__in=keys[:50],
        )
        .order_by("-pk")
        .first()
    )
    return found.session if found else None


def _mail_ids(session) -> tuple[list[str], str]:
    """The Message-IDs of a session's mail, oldest first, and the citizen's last one:
    the reply's References and In-Reply-To. Hashed keys (ids too long to keep) and extra
    attachment items are left out."""
    from ..models import Message

    rows = (
        Message.objects.filter(session=session)
        .exclude(external_id="")
        .order_by("at", "pk")
        .values_list("direction", "external_id")
    )
    ids, last_in = [], ""
    for direction, key in rows:
        if key.startswith("h:") or "#" in key:
            continue
        ids.append(key)
        if direction == Message.Direction.INBOUND:
            last_in = key
    return list(dict.fromkeys(ids)), last_in


def first_subject(session) -> str:
    """The subject of the mail that opened the session (the session's subject; for a
    session of an older release, its first message's first line)."""
    from ..models import Message

    if session.subject:
        return session.subject
    first = (
        Message.objects.filter(session=session, direction=Message.Direction.INBOUND)
        .order_by("at", "pk")
        .values_list("body", flat=True)
        .first()
    )
    line = (first or "").split("\n", 1)[0]
    if line.startswith(SUBJECT_PREFIX) and line[len(SUBJECT_PREFIX) :].strip():
        return line[len(SUBJECT_PREFIX) :].strip()
    return DEFAULT_SUBJECT


def _kind_of(upload) -> str:
    ext = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    return "image" if ext in IMAGE_TYPES else "file"


def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


class EmailConnector(ReplyConnector):
    channel = "email"
    label = "邮件"
    deliver_inline = False
    max_length = 20000
    media_kinds = frozenset({"text", "image", "file"})
    polls = True
    setting_fields = (
        SettingField(
            "imap_host", "收信服务器（IMAP）", required=True, help="如 imap.example.gov.cn"
        ),
        SettingField("imap_port", "IMAP 端口", help="留空：SSL 为 993，其他为 143"),
        SettingField("imap_security", "IMAP 加密方式", default="ssl", help="ssl、starttls 或 none"),
        SettingField("username", "邮箱账号", required=True),
        SettingField("password", "邮箱密码或授权码", required=True, secret=True),
        SettingField("folder", "收信文件夹", default="INBOX"),
        SettingField("smtp_host", "发信服务器（SMTP）", help="留空则使用系统发信设置"),
        SettingField("smtp_port", "SMTP 端口", help="留空：SSL 为 465，STARTTLS 为 587，其他为 25"),
        SettingField("smtp_security", "SMTP 加密方式", default="ssl", help="ssl、starttls 或 none"),
        SettingField("smtp_username", "SMTP 账号", help="留空则同邮箱账号"),
        SettingField("smtp_password", "SMTP 密码", secret=True, help="留空则同邮箱密码"),
        SettingField(
            "from_address", "发件人", required=True, help="如：12345热线 <hotline@example.gov.cn>"
        ),
        SettingField("timeout", "超时（秒）", default="30"),
    )
    webhook_actions: dict = {}

    # --- in: the mailbox ---------------------------------------------------------------------

    def poll(self, entry) -> int:
        return self.read(entry, self.items_of)

    def read(self, entry, items_of) -> int:
        """Take the unread mail of the entry's folder, each turned into inbound items by
        ``items_of(entry, mail)`` (this channel's, or a fax gateway's that mails its faxes);
        return how many items went in. A mailbox that cannot be read raises
        :class:`MailboxError` (logged); what was taken before stays taken, what was not
        stays unread for the next poll."""
        server = imap_server(entry)
        folder = str(_setting(entry, "folder", "INBOX"))
        try:
            box = self._open(server)
        except (OSError, imaplib.IMAP4.error) as error:
            log.warning(
                "邮件渠道 %s：无法登录邮箱 %s:%s：%s", entry.code, server.host, server.port, error
            )
            raise MailboxError(f"无法登录邮箱 {server.host}:{server.port}：{error}") from error
        taken = 0
        try:
            status, _ = box.select(_quoted(folder))
            if status != "OK":
                raise MailboxError(f"邮箱中没有文件夹“{folder}”")
            status, data = box.uid("SEARCH", None, "UNSEEN")
            if status != "OK":
                raise MailboxError("邮箱拒绝了查询未读邮件")
            uids = (data[0] or b"").split()
            for uid in uids[:MAX_MAILS_PER_POLL]:
                taken += self._take(entry, box, uid, items_of)
        except (OSError, imaplib.IMAP4.error) as error:
            log.warning("邮件渠道 %s：读取邮箱出错：%s", entry.code, error)
            raise MailboxError(f"读取邮箱出错：{error}") from error
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                box.logout()
        return taken

    def _open(self, server: Server):
        if not server.host:
            raise imaplib.IMAP4.error("未设置收信服务器")
        if server.security == "ssl":
            box = imaplib.IMAP4_SSL(
                server.host, server.port, ssl_context=_tls(), timeout=server.timeout
            )
        else:
            box = imaplib.IMAP4(server.host, server.port, timeout=server.timeout)
            if server.security == "starttls":
                box.starttls(ssl_context=_tls())
        box.login(server.username, server.password)
        return box

    def _take(self, entry, box, uid: bytes, items_of) -> int:
        """One mail: fetched unmarked, handed in, then marked read."""
        from .. import services

        status, data = box.uid("FETCH", uid, "(RFC822.SIZE)")
        size = _size(data) if status == "OK" else 0
        truncated = size > MAX_MAIL_BYTES
        part = f"BODY.PEEK[]<0.{HEAD_BYTES}>" if truncated else "BODY.PEEK[]"
        status, data = box.uid("FETCH", uid, f"({part})")
        raw = _literal(data) if status == "OK" else None
        if raw is None:
            log.warning("邮件渠道 %s：邮件 %s 无法取回，下次再试", entry.code, uid)
            return 0
        items = []
        try:
            items = items_of(entry, parse(raw, truncated=truncated))
            for item in items:
                services.inbound_receive(entry=entry, inbound=item)
        except HotlineError as error:
            # A mail that can never go in (malformed, refused) must not come back every
            # minute: it is logged and marked read; the mailbox keeps it for a person.
            log.warning("邮件渠道 %s：邮件 %s 未接收：%s", entry.code, uid, error.message)
            items = []
        box.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        return len(items)

    def items_of(self, entry, mail: Mail) -> list[Inbound]:
        """The inbound items of one mail: the text (with the subject, for a new session)
        and the first attachment, then one item per further attachment."""
        from hotline.workorders.services import attachment_check

        from .. import services

        if mail.automatic:
            log.info(
                "邮件渠道 %s：忽略自动回复或退信 %s（%s）", entry.code, mail.key, mail.automatic
            )
            return []
        if not _ADDRESS.match(mail.sender):
            log.warning(
                "邮件渠道 %s：邮件 %s 发件人地址无效：%r", entry.code, mail.key, mail.sender
            )
            return []
        address, lines = mail.sender, []
        thread = threaded_session(entry, mail.replies_to)
        if thread is not None and thread.address != address:
            lines.append(f"（发件人：{mail.sender}）")  # a reply in the thread from elsewhere
            address = thread.address
        text = trim_quoted(mail.text)
        if rating_reply(text) is not None:
            # the rating rule (services.inbound_receive) reads the citizen's own words only
            return [Inbound(address=address, body=text, external_id=mail.key)]
        if (
            mail.subject
            and services.open_session_of(entry.platform, entry.channel, address) is None
        ):
            lines.insert(0, f"{SUBJECT_PREFIX}{mail.subject}")
        lines.append(text)
        files = []
        if mail.truncated:
            megabytes = MAX_MAIL_BYTES // (1024 * 1024)
            lines.append(f"（邮件超过 {megabytes} MB，仅接收正文开头，附件未接收）")
        else:
            for part in mail.attachments:
                upload = ContentFile(part.data, name=_filename(part))
                if len(files) >= MAX_ATTACHMENTS:
                    lines.append(
                        f"（附件“{upload.name}”未接收：每封邮件最多 {MAX_ATTACHMENTS} 个附件）"
                    )
                    continue
                try:
                    attachment_check(upload)
                except Unprocessable as error:
                    lines.append(f"（{error.message}，未接收）")
                    continue
                files.append(upload)
        body = "\n".join(line for line in lines if line.strip())
        if not body.strip() and not files:
            log.info("邮件渠道 %s：邮件 %s 没有内容，忽略", entry.code, mail.key)
            return []
        first = files[0] if files else None
        items = [
            Inbound(
                address=address,
                kind=_kind_of(first) if first else "text",
                body=body,
                attachment=first,
                external_id=mail.key,
                data={"subject": mail.subject} if mail.subject else {},
            )
        ]
        for n, upload in enumerate(files[1:], start=2):
            items.append(
                Inbound(
                    address=address,
                    kind=_kind_of(upload),
                    attachment=upload,
                    external_id=f"{mail.key}#{n}",
                )
            )
        return items

    # --- out: SMTP --------------------------------------------------------------------------

    def send(self, message) -> str:
        session = message.session
        entry = session.channel_entry
        mail, message_id = self.compose(message)
        sender = parseaddr(mail["From"])[1]
        server = smtp_server(entry)
        try:
            with self._smtp(server) as smtp:
                if server.username:
                    smtp.login(server.username, server.password)
                smtp.send_message(mail, from_addr=sender, to_addrs=[session.address])
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"邮件服务器未接收：{error}") from error
        return message_key(message_id)

    def _smtp(self, server: Server):
        if server.security == "ssl":
            return smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout, context=_tls()
            )
        smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        if server.security == "starttls":
            try:
                smtp.starttls(context=_tls())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def compose(self, message) -> tuple[EmailMessage, str]:
        """The mail of one outbound message, and its Message-ID."""
        session = message.session
        entry = session.channel_entry
        if not _ADDRESS.match(session.address or ""):
            raise DeliveryError(f"来电人邮箱地址无效：{session.address}")
        sender = from_address(entry)
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        message_id = f"<{session.ref}.{message.pk}.{_seal(message.pk)}@{domain}>"
        ids, last_in = _mail_ids(session)
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = session.address
        mail["Subject"] = f"Re: {first_subject(session)} [{session.ref}]"
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = message_id
        if last_in:
            mail["In-Reply-To"] = f"<{last_in}>"
        if ids:
            mail["References"] = " ".join(f"<{i}>" for i in ids[-10:])
        if message.kind == "event":
            mail["Auto-Submitted"] = "auto-generated"  # a notice: auto-responders stay quiet
        mail.set_content(self.text_of(message), charset="utf-8")
        if message.attachment:
            name = message.attachment.name.rsplit("/", 1)[-1]
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            maintype, subtype = ctype.split("/", 1)
            with message.attachment.open("rb") as handle:
                data = handle.read()
            mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return mail, message_id

    def text_of(self, message) -> str:
        """The mail's text: the message, signed by who wrote it, and how to go on."""
        session = message.session
        who = agent_name(message.sender) if message.sender_id else "12345热线"
        platform = getattr(django_settings, "HOTLINE_PLATFORM_NAME", "12345政务服务便民热线")
        return (
            f"{message.body}\n\n"
            f"——\n{who}\n{platform}（会话编号 {session.ref}）\n"
            "直接回复本邮件即可继续咨询。"
        )


def _seal(pk: int) -> str:
    """A keyed tag in our Message-IDs: a reply can name them, nobody can guess them."""
    key = django_settings.SECRET_KEY.encode()
    return hmac.new(key, f"email-message-id:{pk}".encode(), hashlib.sha256).hexdigest()[:12]


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _size(data) -> int:
    for item in data or ():
        text = item.decode("ascii", "replace") if isinstance(item, bytes) else str(item)
        match = re.search(r"RFC822\.SIZE (\d+)", text)
        if match:
            return int(match.group(1))
    return 0


def _literal(data) -> bytes | None:
    """The message bytes of a FETCH answer."""
    for item in data or ():
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def _filename(part) -> str:
    """The attachment's name, with an extension from its type when it has none."""
    name = part.filename or "附件"
    if "." not in name:
        guessed = mimetypes.guess_extension(part.content_type) or ""
        name += {".jpe": ".jpg"}.get(guessed, guessed)
    return name[-120:]


CONNECTOR = register(EmailConnector())
