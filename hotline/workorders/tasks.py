"""Worker tasks of work orders."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hotline.core import audit

from . import services


@db_periodic_task(crontab(minute="*/5"))
def archive_completed():
    """Every 5 minutes: archive orders completed more than 24 hours ago (R-WO-4)."""
    with audit.origin(channel="worker"):
        services.auto_archive()
