"""Reading citizens' mail (邮件解析): one RFC 5322 message → what the hotline keeps of it.

Chinese mail comes in every encoding clients ever used: GB2312 or GBK labels on text that
is really GBK (decoded as GB18030, a superset of both), UTF-8, base64 and
quoted-printable bodies, RFC 2047 encoded words in headers (even in attachment names,
where the standard says RFC 2231 — both are read), and now and then raw 8-bit headers.
HTML-only mail is turned into plain text. The quoted previous mail under a reply
("在 … 写道：", "-----原始邮件-----", "> " lines) is cut, so the agent reads — and the
rating rule sees — only what the citizen wrote now.

Pure functions without Django: the connector (:mod:`.email`) does the rest.
"""

import email
import hashlib
import html
import re
from dataclasses import dataclass, field
from email import policy
from email.header import Header, decode_header
from email.utils import collapse_rfc2231_value, parseaddr
from html.parser import HTMLParser

# Charsets labelled on Chinese mail, all decoded as GB18030 (a superset: labels lie).
_GB_CHARSETS = {"gb2312", "gbk", "x-gbk", "cp936", "gb_2312-80", "euc-cn", "x-euc-cn", "gb18030"}
# Message.external_id holds 100 characters; "#<n>" is added for extra attachments.
MAX_KEY_LENGTH = 95


def codec(charset: str | None) -> str:
    """The codec to decode text labelled ``charset`` with."""
    charset = (charset or "").strip().strip('"').lower()
    if charset in _GB_CHARSETS:
        return "gb18030"
    return charset or "utf-8"


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset; an unknown or wrong label falls back to UTF-8, then
    GB18030 (what unlabelled Chinese mail usually is)."""
    for name in (codec(charset), "utf-8", "gb18030"):
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def decode_words(value) -> str:
    """A header's text: RFC 2047 encoded words decoded (any charset above), raw 8-bit
    bytes read as UTF-8 or GB18030."""
    if value is None:
        return ""
    if isinstance(value, Header):
        # raw 8-bit bytes: the parser keeps them as an "unknown-8bit" chunk
        chunks = decode_header(value)
    else:
        value = str(value)
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # surrogate-escaped bytes
                return decode_bytes(value.encode("utf-8", "surrogateescape"), None).strip()
            return re.sub(r"\s+", " ", value).strip()
        chunks = decode_header(value)
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            parts.append(decode_bytes(chunk, charset or "ascii"))
        else:
            parts.append(chunk)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def message_key(message_id: str) -> str:
    """A Message-ID as stored in ``Message.external_id``: without angle brackets, or a
    hash when too long for the column (and its "#<n>" suffix)."""
    value = (message_id or "").strip().strip("<>").strip()
    if len(value) > MAX_KEY_LENGTH:
        return "h:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:40]
    return value


def message_ids(header_value) -> list[str]:
    """The Message-IDs named in an In-Reply-To or References header, in order."""
    return re.findall(r"<([^<>\s]+)>", str(header_value or ""))


# --- HTML-only mail → text ----------------------------------------------------------------------


class _TextOfHtml(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    HIDDEN = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "blockquote":
            self.parts.append("> ")  # a quoted mail stays recognisable as quoted

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts)).replace("\xa0", " ")
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- the quoted previous mail ----------------------------------------------------------------------

_QUOTE_HEADS = re.compile(
    r"^[ \t]*(?:"
    r"在[^\n]{0,200}(?:\n[^\n]{0,200})?写道[:：]"  # 在 2026年3月4日 …，12345热线 <…> 写道：
    r"|On [^\n]{0,200}(?:\n[^\n]{0,200})?wrote:"
    r"|-{2,}\s*(?:原始邮件|Original Message|回复的原邮件)\s*-{2,}"
    r"|_{20,}\s*\n[ \t]*(?:发件人|From)[:：]"  # Outlook: a rule, then the old headers
    r")[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)


def trim_quoted(text: str) -> str:
    """What the citizen wrote now: the text above the quoted previous mail, without
    "> " lines. A mail that is nothing but quote keeps its text."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    head = _QUOTE_HEADS.search(text)
    kept = text[: head.start()] if head else text
    kept = "\n".join(line for line in kept.split("\n") if not line.lstrip().startswith(">"))
    kept = re.sub(r"\n{3,}", "\n\n", kept).strip()
    return kept or text.strip()


# --- one message ---------------------------------------------------------------------------------


@dataclass
class Part:
    """An attached file of a mail."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Mail:
    """What the hotline reads of one mail."""

    key: str  # message_key of its Message-ID (or of its content, when it has none)
    sender: str  # the address, lower-cased
    sender_name: str
    subject: str
    text: str  # plain text, quote included (see trim_quoted)
    attachments: list = field(default_factory=list)
    replies_to: list = field(default_factory=list)  # keys of In-Reply-To, then References
    automatic: str = ""  # why it is an auto-reply or a bounce, or ""
    truncated: bool = False  # only the mail's beginning was fetched (too large)


def _filename(part) -> str:
    raw = part.get_param("filename", header="content-disposition")
    if raw is None:
        raw = part.get_param("name")  # Content-Type's name, older clients
    if raw is None:
        return ""
    if isinstance(raw, tuple):  # RFC 2231: (charset, language, %-decoded bytes as str)
        charset, _language, value = raw
        data = value.encode("latin-1", errors="surrogateescape")
        name = decode_bytes(data, charset)
    else:
        name = decode_words(collapse_rfc2231_value(raw))
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name


def _automatic(message, sender: str) -> str:
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for header in ("X-Autoreply", "X-Autorespond"):
        value = str(message.get(header, "")).strip().lower()
        if value and value != "no":
            return f"{header}: {value}"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return f"Precedence: {precedence}"
    local = sender.split("@", 1)[0]
    if local in ("mailer-daemon", "postmaster") or not sender:
        return f"发件人 {sender or '（空）'}"
    if message.get_content_type() == "multipart/report":
        return "投递状态报告"
    if str(message.get("Return-Path", "")).strip() == "<>":
        return "Return-Path: <>"
    return ""


def parse(raw: bytes, *, truncated: bool = False) -> Mail:
    """Read one mail from its bytes."""
    message = email.message_from_bytes(raw, policy=policy.compat32)
    sender_name, sender = parseaddr(decode_words(message.get("From", "")))
    sender = sender.strip().lower()
    key = message_key(str(message.get("Message-ID", "")))
    if not key:
        key = "h:" + hashlib.sha256(raw).hexdigest()[:40]
    replies = [message_key(i) for i in message_ids(message.get("In-Reply-To"))]
    replies += [message_key(i) for i in message_ids(message.get("References"))][::-1]
    plain, markup, attachments = [], [], []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part)
        ctype = part.get_content_type()
        if disposition == "attachment" or filename or not ctype.startswith("text/"):
            if ctype == "message/delivery-status":
                continue
            data = part.get_payload(decode=True)
            if data is None:  # an attached message (message/rfc822)
                data = part.as_bytes() if hasattr(part, "as_bytes") else b""
            attachments.append(Part(filename or "附件", ctype, data or b""))
            continue
        data = part.get_payload(decode=True) or b""
        text = decode_bytes(data, part.get_content_charset())
        (markup if ctype == "text/html" else plain).append(text)
    if plain:
        text = "\n".join(plain)
    else:
        text = "\n".join(html_to_text(m) for m in markup)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return Mail(
        key=key,
        sender=sender,
        sender_name=sender_name.strip().strip('"'),
        subject=decode_words(message.get("Subject", "")),
        text=text,
        attachments=attachments,
        replies_to=[r for r in dict.fromkeys(replies) if r],
        automatic=_automatic(message, sender),
        truncated=truncated,
    )
