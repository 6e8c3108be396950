"""The notifier (站内提醒、短信、邮件): one door for every notice the platform sends.

``notify`` writes one in-app ``Notification`` per recipient — once per ``key`` when a key
is given, so that a deadline warning fires once however often the sweep runs — and, for
the channels "sms" and "email", one ``Delivery`` per recipient that the worker sends
after the transaction commits: email through Django's mail (EMAIL_* settings), SMS
through the platform's SMS gateway (:mod:`hotline.core.sms`, the one adapter, which the
SMS channel uses as well). A failed sending is retried with backoff;
after :data:`MAX_ATTEMPTS` it is given up ("dead"), the error kept on the row. New notices
and read marks are also pushed, after commit, to the recipient's open pages (站内提醒实时
弹出, :mod:`hotline.core.consumers`).

Settings read (all optional): ``HOTLINE_SMS_URL`` (no URL: SMS deliveries fail with a
clear error), ``HOTLINE_SMS_TEMPLATE`` (the text, with ``{title}``, ``{body}``,
``{link}``, ``{platform}``), ``HOTLINE_SMS_TOKEN`` (sent as a bearer token),
``HOTLINE_SMS_TIMEOUT`` (seconds), ``HOTLINE_SMS_PROFILE`` and the other gateway settings
of :meth:`hotline.core.sms.SmsGateway.from_settings`, ``HOTLINE_SITE_URL`` (prefix of
links in SMS and mail).
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from huey.contrib.djhuey import db_task

from . import consumers, sms
from .models import Delivery, Notification, User

log = logging.getLogger(__name__)

CHANNELS = ("app", "sms", "email")
MAX_ATTEMPTS = 3
# Seconds to wait before the 2nd and the 3rd attempt.
RETRY_DELAYS = (60, 300)


def notify(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    level: str = Notification.Level.INFO,
    key: str = "",
    channels: Iterable[str] = ("app",),
) -> list[Notification]:
    """Send a notice to each active recipient (once per ``key``); return the notices
    created by this call (recipients who already had the key are skipped)."""
    channels = tuple(channels)
    unknown = set(channels) - set(CHANNELS)
    if unknown:
        raise ValueError(f"unknown channels: {sorted(unknown)}")
    if level not in Notification.Level.values:
        raise ValueError(f"unknown level: {level}")
    people = {user.pk: user for user in recipients if user is not None and user.is_active}
    if key:
        already = set(
            Notification.objects.filter(key=key, recipient_id__in=people).values_list(
                "recipient_id", flat=True
            )
        )
        people = {pk: user for pk, user in people.items() if pk not in already}
    if not people:
        return []
    now = timezone.now()
    rows = [
        Notification(
            recipient=user,
            kind=kind[:40],
            level=level,
            title=title[:100],
            body=body[:500],
            link=link[:200],
            key=key[:120],
            created_at=now,
        )
        for user in people.values()
    ]
    if key:
        # A concurrent sweep may have written the same key since the check above: the
        # unique constraint drops the duplicate. Re-read what this call did write.
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        created = list(
            Notification.objects.filter(
                key=rows[0].key, recipient_id__in=people, created_at=now
            ).select_related("recipient")
        )
    else:
        created = Notification.objects.bulk_create(rows)
    deliveries = [
        _delivery(notice, channel) for notice in created for channel in channels if channel != "app"
    ]
    if deliveries:
        Delivery.objects.bulk_create(deliveries)
        pending = [d.pk for d in deliveries if d.status == Delivery.Status.PENDING and d.pk]
        if not all(d.pk for d in deliveries):  # a backend that returns no pks
            pending = list(
                Delivery.objects.filter(
                    notification__in=created, status=Delivery.Status.PENDING
                ).values_list("pk", flat=True)
            )
        for pk in pending:
            transaction.on_commit(lambda pk=pk: send_delivery(pk))
    _push_live(notices=created)
    return created


def _delivery(notice: Notification, channel: str) -> Delivery:
    user = notice.recipient
    address = (user.phone if channel == "sms" else user.email or "").strip()
    if address:
        return Delivery(notification=notice, channel=channel, address=address)
    missing = "未登记手机号码" if channel == "sms" else "未登记电子邮箱"
    return Delivery(
        notification=notice,
        channel=channel,
        status=Delivery.Status.FAILED,
        last_error=missing,
    )


def unread_count(user: User) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(*, user: User, pk: int) -> Notification | None:
    """Mark one of the user's own notices read; another person's reads as not found."""
    notice = Notification.objects.filter(recipient=user, pk=pk).first()
    if notice is not None and notice.read_at is None:
        notice.read_at = timezone.now()
        notice.save(update_fields=["read_at"])
        _push_live(readers=[user.pk])
    return notice


def mark_all_read(*, user: User) -> int:
    count = Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if count:
        _push_live(readers=[user.pk])
    return count


def _push_live(*, notices: Iterable[Notification] = (), readers: Iterable[int] = ()) -> None:
    """Once the transaction commits, show ``notices`` in their recipients' open pages and
    refresh the bell of each of ``readers`` (站内提醒实时弹出, hotline.core.consumers).
    A bus that is down costs the live pop-up, never the notice: it is logged, not raised."""
    notices, readers = list(notices), set(readers)

    def push():
        try:
            people = readers | {notice.recipient_id for notice in notices}
            unread = dict(
                Notification.objects.filter(recipient_id__in=people, read_at__isnull=True)
                .values("recipient_id")
                .annotate(n=Count("pk"))
                .values_list("recipient_id", "n")
            )
            events = [
                (
                    notice.recipient_id,
                    {
                        "type": "notification",
                        "id": notice.pk,
                        "title": notice.title,
                        "body": notice.body,
                        "link": notice.link,
                        "level": notice.level,
                        "level_label": notice.get_level_display(),
                        "kind": notice.kind,
                        "unread": unread.get(notice.recipient_id, 0),
                    },
                )
                for notice in notices
            ]
            events += [(pk, {"type": "unread", "unread": unread.get(pk, 0)}) for pk in readers]
            consumers.push(events)
        except Exception:  # Redis down, a full channel, a timeout: the rows are safe
            log.warning("live notification push failed", exc_info=True)

    if notices or readers:
        transaction.on_commit(push)


# --- sending ------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A sending failed; the message is kept on the delivery row."""


def _absolute(link: str) -> str:
    site = getattr(settings, "HOTLINE_SITE_URL", "").rstrip("/")
    return f"{site}{link}" if link.startswith("/") and site else link


#: The notice as an SMS text (``HOTLINE_SMS_TEMPLATE``: ``{platform}``, ``{title}``,
#: ``{body}``, ``{body_sep}``, ``{link}``).
DEFAULT_SMS_TEMPLATE = "【{platform}】{title}{body_sep}{body}"


def _sms_text(notice: Notification) -> str:
    template = getattr(settings, "HOTLINE_SMS_TEMPLATE", "") or DEFAULT_SMS_TEMPLATE
    return template.format(
        platform=getattr(settings, "HOTLINE_PLATFORM_NAME", ""),
        title=notice.title,
        body=notice.body,
        body_sep="：" if notice.body else "",
        link=_absolute(notice.link),
    )


def _send_sms(phone: str, notice: Notification) -> None:
    """Through the platform's SMS gateway (:mod:`hotline.core.sms`, the one adapter)."""
    try:
        sms.SmsGateway.from_settings().send(phone, _sms_text(notice))
    except (sms.SmsError, sms.ProfileError) as error:
        raise DeliveryError(str(error)) from None


def _send_email(address: str, notice: Notification) -> None:
    lines = [notice.body] if notice.body else []
    if notice.link:
        lines.append(f"查看：{_absolute(notice.link)}")
    lines.append(f"—— {getattr(settings, 'HOTLINE_PLATFORM_NAME', '')}")
    try:
        send_mail(
            subject=notice.title,
            message="\n\n".join(lines),
            from_email=None,  # DEFAULT_FROM_EMAIL
            recipient_list=[address],
            fail_silently=False,
        )
    except Exception as error:  # smtplib, socket and backend errors alike
        raise DeliveryError(f"邮件发送失败：{error}") from None


def attempt_delivery(pk: int) -> Delivery | None:
    """One try at sending a delivery; returns it, with what happened recorded."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("notification")
            .filter(pk=pk, status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED])
            .first()
        )
        if delivery is None or not delivery.address:
            return delivery
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    try:
        if delivery.channel == Delivery.Channel.SMS:
            _send_sms(delivery.address, delivery.notification)
        else:
            _send_email(delivery.address, delivery.notification)
    except DeliveryError as error:
        delivery.last_error = str(error)[:500]
        dead = delivery.attempts >= MAX_ATTEMPTS
        delivery.status = Delivery.Status.DEAD if dead else Delivery.Status.FAILED
        delivery.save(update_fields=["status", "last_error"])
        log.warning(
            "delivery %s (%s) attempt %s failed: %s",
            delivery.pk,
            delivery.channel,
            delivery.attempts,
            delivery.last_error,
        )
        if not dead:
            _retry_later(delivery.pk, RETRY_DELAYS[min(delivery.attempts, len(RETRY_DELAYS)) - 1])
        return delivery
    delivery.status, delivery.sent_at = Delivery.Status.SENT, timezone.now()
    delivery.save(update_fields=["status", "sent_at"])
    return delivery


def _retry_later(pk: int, delay: int) -> None:
    if delay <= 0:
        send_delivery(pk)
    else:
        send_delivery.schedule((pk,), delay=delay)


@db_task()
def send_delivery(pk: int) -> None:
    """Worker: send one delivery (retries schedule themselves)."""
    attempt_delivery(pk)
