"""Worker tasks of the contact center: the ACD sweep (and announcements that became due),
every 5 seconds; the delivery of outbound messages through remote connectors, with retries.

Huey's periodic tasks have minute resolution, so the minute task runs one sweep and
schedules eleven more at 5-second offsets. Sweeps are idempotent (every step re-checks
under row locks), so an overlap after a restart does no harm.
"""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hotline.core import audit

from . import acd, services

log = logging.getLogger(__name__)

SWEEP_EVERY = 5  # seconds


@db_task()
def acd_sweep():
    with audit.origin(channel="worker"):
        services.announcements_due()  # 公告 published ahead of time go out when due
        return acd.sweep()


@db_periodic_task(crontab(minute="*"))
def acd_sweep_minute():
    """Every minute: sweep now, and every 5 s until the next minute."""
    with audit.origin(channel="worker"):
        services.announcements_due()
        acd.sweep()
    for offset in range(SWEEP_EVERY, 60, SWEEP_EVERY):
        acd_sweep.schedule(delay=offset)


@db_periodic_task(crontab(minute="*"))
def poll_channels():
    """Every minute: each active entry whose connector fetches its messages (a mailbox
    over IMAP) fetches them. One entry that fails is logged and does not stop the others."""
    from .connectors import for_channel
    from .selectors import polled_entries

    fetched = 0
    for entry in polled_entries():
        with audit.origin(channel=entry.channel):
            try:
                fetched += for_channel(entry.channel).poll(entry)
            except Exception:  # noqa: BLE001 - a mailbox that is down must not stop the rest
                log.warning("polling channel entry %s failed", entry.pk, exc_info=True)
    return fetched


@db_task()
def deliver_message(message_id: int):
    """One delivery attempt of an outbound message through its channel's connector (a
    connector that talks to a remote service); a failure schedules the next attempt."""
    from .connectors import for_channel
    from .models import Message

    message = Message.objects.select_related("session").filter(pk=message_id).first()
    if message is None or message.delivery not in ("pending", "retrying"):
        return None
    connector = for_channel(message.session.channel)
    if connector is None:
        return None
    with audit.origin(channel="worker"):
        return connector.attempt(message)
