"""The email channel (邮件) against real mail servers on loopback: Debian's dovecot is the
hotline's mailbox (IMAP), aiosmtpd its outgoing server (SMTP). Mail arrives as Chinese
clients write it — GBK labelled GB2312, encoded headers, attachments — reaches an agent,
the agent's reply goes out as a threaded mail, and the citizen's reply "1" rates."""

import base64
import logging
import os
import urllib.parse

import pytest
from django.core.files.base import ContentFile

from hotline.contact import connectors, services, tasks
from hotline.contact.connectors import base
from hotline.contact.connectors import email as mail_channel
from hotline.contact.connectors.mail_parse import message_key, parse, trim_quoted
from hotline.contact.models import Message, Session

from .mailserver import DOVECOT, Dovecot, Smtp, free_port

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HOTLINE = "hotline@sanya12345.gov.cn"


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").strip()


def word(text: str, charset: str = "GBK") -> str:
    """An RFC 2047 encoded word, as Chinese clients put in headers."""
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def mail(
    *,
    message_id: str,
    sender: str = f"{word('张三')} <Zhang.San@Example.COM>",
    subject: str = word("社保卡补办咨询", "GB2312"),
    text: str = "您好，我的社保卡丢了，请问在哪里补办？我叫张三，住在吉阳区朱镕路。",
    charset: str = "GB2312",
    encoding: str = "base64",
    attachments: tuple = (),
    headers: str = "",
) -> bytes:
    """A mail as a Chinese client sends it: the text in ``charset`` (GBK-only characters
    under a GB2312 label included), ``attachments`` as (name, type, bytes) with RFC 2231
    names in GBK."""
    data = text.encode("gb18030" if charset.upper() in ("GB2312", "GBK") else charset)
    if encoding == "base64":
        body = b64(data)
    else:
        import quopri

        body = quopri.encodestring(data).decode("ascii")
    lines = [
        f"From: {sender}",
        f"To: {HOTLINE}",
        f"Subject: {subject}",
        f"Message-ID: <{message_id}>",
        "Date: Wed, 4 Mar 2026 10:00:00 +0800",
        "MIME-Version: 1.0",
    ]
    if headers:
        lines.append(headers.strip())
    text_part = [
        f'Content-Type: text/plain; charset="{charset}"',
        f"Content-Transfer-Encoding: {encoding}",
        "",
        body,
    ]
    if not attachments:
        return "\r\n".join(lines + text_part).encode("ascii") + b"\r\n"
    boundary = "----=_NextPart_000_0001"
    lines.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    lines += ["", f"--{boundary}", *text_part]
    for name, ctype, content in attachments:
        quoted = urllib.parse.quote(name.encode("gbk"))
        lines += [
            f"--{boundary}",
            f'Content-Type: {ctype}; name="{word(name)}"',
            f"Content-Disposition: attachment; filename*=GBK''{quoted}",
            "Content-Transfer-Encoding: base64",
            "",
            b64(content),
        ]
    lines.append(f"--{boundary}--")
    return "\r\n".join(lines).encode("ascii") + b"\r\n"


def reply(*, message_id: str, to: object, text: str, sender="Zhang.San@example.com") -> bytes:
    """The citizen answers a hotline mail ``to`` (UTF-8, quoted-printable, as webmail)."""
    references = f"{to['References'] or ''} {to['Message-ID']}".strip()
    return mail(
        message_id=message_id,
        sender=sender,
        subject=word(f"回复：{to['Subject']}", "UTF-8"),
        text=text,
        charset="UTF-8",
        encoding="quoted-printable",
        headers=f"In-Reply-To: {to['Message-ID']}\r\nReferences: {references}",
    )


# --- the servers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dovecot():
    if not os.path.exists(DOVECOT):
        pytest.skip("未安装 dovecot（/usr/sbin/dovecot），无法以真实 IMAP 服务器测试邮件渠道")
    with Dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot):
    return dovecot.mailbox()


@pytest.fixture
def smtp(mailbox):
    with Smtp(mailbox.user) as server:
        yield server


@pytest.fixture
def entry(cc, mailbox, smtp):
    return services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="email",
        code="mail",
        name="市民来信邮箱",
        queue=cc.general,
        settings={
            **mailbox.settings(),
            **smtp.settings(),
            "from_address": f"12345热线 <{HOTLINE}>",
            "timeout": "5",
        },
    )


@pytest.fixture
def connector():
    return connectors.for_channel("email")


def settle(connector, message):
    """Drive the worker's attempts (deliver_message) until the message settles."""
    states = []
    for _ in range(10):
        message.refresh_from_db()
        if message.delivery not in ("pending", "retrying"):
            break
        states.append(connector.attempt(message))
    message.refresh_from_db()
    return states


# --- end to end ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_gbk_mail_reaches_an_agent_whose_reply_threads_and_the_citizens_1_rates(
    entry, mailbox, smtp, agent, connector
):
    worker = agent("林")
    mailbox.deliver(
        mail(
            message_id="20260304100000.A1@example.com",
            attachments=[("社保卡补办指南.pdf", "application/pdf", PDF)],
        )
    )
    assert tasks.poll_channels.call_local() == 1  # the worker's minute task
    assert mailbox.unseen() == 0

    session = Session.objects.get()
    assert session.channel == "email" and session.address == "zhang.san@example.com"
    assert session.agent_id == worker.pk and session.channel_entry_id == entry.pk
    first = session.messages.get(direction="in")
    assert first.body.startswith("主题：社保卡补办咨询\n")
    assert "吉阳区朱镕路" in first.body  # GBK-only 镕 under a GB2312 label
    assert first.kind == "file" and first.attachment.name.endswith(".pdf")
    assert "社保卡补办指南" in first.attachment.name
    assert first.external_id == "20260304100000.A1@example.com"

    # the agent answers: a mail in the thread, from the entry's address
    answer = services.message_send(
        actor=worker, session=session, body="您好，请携带身份证到吉阳区政务服务中心补办。"
    )
    answer.refresh_from_db()
    assert answer.delivery == "sent", answer.last_error
    sent = smtp.inbox.mails[-1]
    assert smtp.inbox.envelopes[-1].rcpt_tos == ["zhang.san@example.com"]
    assert smtp.inbox.envelopes[-1].mail_from == HOTLINE
    assert sent["Subject"] == f"Re: 社保卡补办咨询 [{session.ref}]"
    assert sent["In-Reply-To"] == "<20260304100000.A1@example.com>"
    sender = sent["From"].addresses[0]
    assert sender.addr_spec == HOTLINE and sender.display_name == "12345热线"
    assert answer.external_id == sent["Message-ID"].strip("<>")
    assert "政务服务中心补办" in sent.get_content() and "话务员林" not in sent.get_content()
    assert "=?utf-8?" in smtp.inbox.envelopes[-1].content.decode().lower()  # RFC 2047 on the wire

    # the citizen answers from another address of theirs: the thread joins the session
    mailbox.deliver(
        reply(
            message_id="r1.A2@work.example.com",
            to=sent,
            sender="zhangsan@work.example.com",
            text="好的，需要带照片吗？\r\n\r\n在 2026年3月4日 10:05，12345热线 <hotline@sanya12345.gov.cn> 写道：\r\n> 您好，请携带身份证",
        )
    )
    assert connector.poll(entry) == 1
    assert Session.objects.count() == 1
    follow = session.messages.filter(direction="in").last()
    assert follow.body == "（发件人：zhangsan@work.example.com）\n好的，需要带照片吗？"

    # the agent ends: the rating menu goes out as a mail in the thread
    services.session_end(actor=worker, session=session)
    menu = smtp.inbox.mails[-1]
    assert "回复数字即可" in menu.get_content()
    assert menu["In-Reply-To"] == "<r1.A2@work.example.com>"
    assert "<20260304100000.A1@example.com>" in menu["References"]

    mailbox.deliver(
        reply(
            message_id="r2.A3@example.com",
            to=menu,
            text="1\r\n\r\n在 2026年3月4日 10:20，12345热线 <hotline@sanya12345.gov.cn> 写道：\r\n> 请您对本次服务进行评价，回复数字即可：1 非常满意",
        )
    )
    connector.poll(entry)
    session.refresh_from_db()
    assert session.satisfaction == "非常满意"
    assert "感谢您的评价（非常满意）" in smtp.inbox.mails[-1].get_content()
    assert not Session.objects.exclude(pk=session.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_new_mail_from_the_citizen_gets_a_session_by_its_address_and_its_subject(
    entry, mailbox, smtp, agent, connector
):
    agent("林")
    mailbox.deliver(mail(message_id="m1@example.com", text="第一封"))
    mailbox.deliver(
        mail(message_id="m2@example.com", subject=word("补充材料", "UTF-8"), text="第二封")
    )
    assert connector.poll(entry) == 2
    session = Session.objects.get()  # sticky to the citizen's open session
    assert list(session.messages.filter(direction="in").values_list("body", flat=True)) == [
        "主题：社保卡补办咨询\n第一封",
        "第二封",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_file_the_agent_sends_arrives_attached_under_its_chinese_name(
    entry, mailbox, smtp, agent, connector
):
    worker = agent("林")
    mailbox.deliver(mail(message_id="file@example.com"))
    connector.poll(entry)
    session = Session.objects.get()
    answer = services.message_send(
        actor=worker,
        session=session,
        kind="file",
        body="补办所需材料清单见附件",
        attachment=ContentFile(PDF, name="材料清单.pdf"),
    )
    answer.refresh_from_db()
    assert answer.delivery == "sent", answer.last_error
    sent = smtp.inbox.mails[-1]
    files = list(sent.iter_attachments())
    assert len(files) == 1 and files[0].get_content_type() == "application/pdf"
    assert files[0].get_filename().endswith(".pdf") and "材料清单" in files[0].get_filename()
    assert files[0].get_content() == PDF
    assert "补办所需材料清单见附件" in sent.get_body(("plain",)).get_content()


# --- what must not go in twice, or at all -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_reading_the_mailbox_again_adds_nothing_twice(entry, mailbox, agent, connector):
    agent("林")
    mailbox.deliver(
        mail(
            message_id="dup@example.com",
            attachments=[
                ("现场照片.png", "image/png", PNG),
                ("情况说明.pdf", "application/pdf", PDF),
            ],
        )
    )
    assert connector.poll(entry) == 2
    items = list(Message.objects.filter(direction="in").order_by("pk"))
    assert [(m.kind, m.external_id) for m in items] == [
        ("image", "dup@example.com"),
        ("file", "dup@example.com#2"),
    ]
    assert items[0].body.startswith("主题：") and items[1].body == ""

    mailbox.mark_all_unseen()  # as if the hotline stopped before marking the mail read
    connector.poll(entry)
    assert Message.objects.filter(direction="in").count() == 2
    assert connector.poll(entry) == 0 and mailbox.unseen() == 0


@pytest.mark.django_db(transaction=True)
def test_auto_replies_and_bounces_are_logged_and_dropped(entry, mailbox, connector, caplog):
    mailbox.deliver(
        mail(
            message_id="auto1@example.com", headers="Auto-Submitted: auto-replied", text="我已休假"
        )
    )
    mailbox.deliver(
        mail(message_id="auto2@example.com", headers="X-Autoreply: yes", text="自动回复")
    )
    mailbox.deliver(
        mail(
            message_id="bounce@mx.example.com",
            sender="Mail Delivery System <MAILER-DAEMON@mx.example.com>",
            subject="Undelivered Mail Returned to Sender",
            text="This is the mail system at host mx.example.com.",
        )
    )
    with caplog.at_level(logging.INFO, logger="hotline.contact.connectors.email"):
        assert connector.poll(entry) == 0
    assert not Session.objects.exists()
    assert mailbox.unseen() == 0  # taken, so not read again every minute
    assert caplog.text.count("忽略自动回复或退信") == 3


@pytest.mark.django_db(transaction=True)
def test_a_forbidden_attachment_is_dropped_with_a_note_and_the_text_kept(
    entry, mailbox, agent, connector
):
    agent("林")
    mailbox.deliver(
        mail(
            message_id="exe@example.com",
            attachments=[("发票.exe", "application/octet-stream", b"MZ\x90\x00" * 20)],
        )
    )
    assert connector.poll(entry) == 1
    message = Message.objects.get(direction="in")
    assert message.kind == "text" and not message.attachment
    assert "我的社保卡丢了" in message.body
    assert "附件“发票.exe”类型不允许" in message.body and "未接收" in message.body


@pytest.mark.django_db(transaction=True)
def test_a_mail_too_large_keeps_its_text_and_drops_its_attachments(
    entry, mailbox, agent, connector, monkeypatch
):
    agent("林")
    monkeypatch.setattr(mail_channel, "MAX_MAIL_BYTES", 20_000)
    monkeypatch.setattr(mail_channel, "HEAD_BYTES", 4_000)
    big = b"%PDF-1.4\n" + os.urandom(60_000)
    mailbox.deliver(
        mail(message_id="big@example.com", attachments=[("扫描件.pdf", "application/pdf", big)])
    )
    assert connector.poll(entry) == 1
    message = Message.objects.get(direction="in")
    assert not message.attachment and "我的社保卡丢了" in message.body
    assert "附件未接收" in message.body


# --- peers down ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_smtp_server_that_is_down_means_retries_then_a_dead_letter(
    entry, mailbox, smtp, agent, connector
):
    worker = agent("林")
    mailbox.deliver(mail(message_id="down@example.com"))
    connector.poll(entry)
    session = Session.objects.get()
    smtp.stop()  # the outgoing server goes away
    answer = services.message_send(actor=worker, session=session, body="已为您登记。")
    answer.refresh_from_db()
    assert answer.delivery == "retrying" and answer.attempts == 1
    states = settle(connector, answer)
    assert states[-1] == "dead" and answer.attempts == len(base.RETRY_DELAYS) + 1
    assert answer.last_error.startswith("邮件服务器未接收")


@pytest.mark.django_db(transaction=True)
def test_a_wrong_smtp_password_is_a_failed_delivery(entry, mailbox, smtp, agent, connector):
    worker = agent("林")
    mailbox.deliver(mail(message_id="auth@example.com"))
    connector.poll(entry)
    entry.settings["smtp_password"] = "wrong"
    entry.save()
    answer = services.message_send(actor=worker, session=Session.objects.get(), body="您好")
    answer.refresh_from_db()
    assert answer.delivery == "retrying" and "535" in answer.last_error
    assert smtp.inbox.envelopes == []


@pytest.mark.django_db(transaction=True)
def test_a_mailbox_that_is_down_or_refuses_the_login_takes_nothing(
    entry, mailbox, connector, caplog
):
    mailbox.deliver(mail(message_id="later@example.com"))
    entry.settings["imap_port"] = str(free_port(18390))  # nobody listens there
    entry.save()
    with pytest.raises(mail_channel.MailboxError, match="无法登录邮箱"):
        connector.poll(entry)
    with caplog.at_level(logging.WARNING):
        assert tasks.poll_channels.call_local() == 0  # the worker logs it and goes on
    assert "polling channel entry" in caplog.text

    entry.settings.update(mailbox.settings(password="wrong"))
    entry.save()
    with pytest.raises(mail_channel.MailboxError):
        connector.poll(entry)
    assert not Session.objects.exists() and not Message.objects.exists()
    assert mailbox.unseen() == 1  # still there for when the mailbox is back

    entry.settings.update(mailbox.settings())
    entry.save()
    assert connector.poll(entry) == 1 and Session.objects.count() == 1


# --- reading mail ---------------------------------------------------------------------------------


def test_charsets_and_encoded_headers_are_read():
    read = parse(
        mail(
            message_id="x@example.com",
            attachments=[("办事指南.pdf", "application/pdf", PDF)],
        )
    )
    assert read.sender == "zhang.san@example.com" and read.sender_name == "张三"
    assert read.subject == "社保卡补办咨询"
    assert "朱镕路" in read.text
    assert [(p.filename, p.content_type, p.data) for p in read.attachments] == [
        ("办事指南.pdf", "application/pdf", PDF)
    ]
    for charset in ("GBK", "GB18030", "UTF-8"):
        for encoding in ("base64", "quoted-printable"):
            read = parse(
                mail(
                    message_id="y@example.com",
                    charset=charset,
                    encoding=encoding,
                    text="投诉噪音扰民",
                )
            )
            assert read.text == "投诉噪音扰民", (charset, encoding)


def test_an_attachment_named_with_encoded_words_and_a_raw_8bit_subject_are_read():
    raw = (
        "From: a@example.com\r\nSubject: 噪音投诉\r\nMessage-ID: <z@example.com>\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        "Content-Type: text/plain; charset=gbk\r\n\r\n夜间施工\r\n--b\r\n"
        f'Content-Type: image/png\r\nContent-Disposition: attachment; filename="{word("现场.png")}"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{b64(PNG)}\r\n--b--\r\n"
    ).encode("gbk")
    read = parse(raw)
    assert read.subject == "噪音投诉" and read.text == "夜间施工"
    assert read.attachments[0].filename == "现场.png"


def test_html_only_mail_becomes_text():
    raw = (
        "From: a@example.com\r\nMessage-ID: <h@example.com>\r\n"
        "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64(
            "<html><head><style>p{color:red}</style></head><body>"
            "<p>路灯坏了&nbsp;三天</p><div>地址：<b>三亚湾路</b></div></body></html>".encode()
        )
    ).encode()
    assert parse(raw).text == "路灯坏了 三天\n\n地址：三亚湾路"


@pytest.mark.parametrize(
    "text",
    [
        "好的，谢谢\n\n在 2026年3月4日 星期三 10:05，12345热线 <hotline@example.gov.cn> 写道：\n> 您好",
        "好的，谢谢\n\n在 2026年3月4日 10:05，“12345热线”<hotline@example.gov.cn>\n写道：\n> 您好",
        "好的，谢谢\n------------------ 原始邮件 ------------------\n发件人: 12345热线\n您好",
        "好的，谢谢\n\n-----原始邮件-----\n发件人: 12345热线\n您好",
        "好的，谢谢\n> 您好\n> 请补充地址",
        "好的，谢谢\n\nOn Wed, Mar 4, 2026 at 10:05 AM 12345热线 <hotline@example.gov.cn> wrote:\n> hi",
    ],
)
def test_the_quoted_previous_mail_is_cut(text):
    assert trim_quoted(text) == "好的，谢谢"


def test_a_rating_reply_is_read_from_the_citizens_own_words():
    text = "1\n\n在 2026年3月4日 10:20，12345热线 写道：\n> 请您对本次服务进行评价，回复数字即可：1 非常满意"
    assert base.rating_reply(trim_quoted(text)) == "非常满意"
    assert trim_quoted("> 只有引用") == "> 只有引用"  # nothing of its own: kept as it is


def test_message_ids_too_long_for_the_column_are_hashed():
    long_id = "<" + "a" * 120 + "@example.com>"
    key = message_key(long_id)
    assert key.startswith("h:") and len(key) + len("#10") <= 100
    assert key == message_key(long_id.strip("<>")) and message_key("<x@y>") == "x@y"
