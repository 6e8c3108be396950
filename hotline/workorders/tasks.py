"""Worker tasks of work orders."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hotline.core import audit

from . import services, supervision


@db_periodic_task(crontab(minute="*/5"))
def archive_completed():
    """Every 5 minutes: archive orders completed more than 24 hours ago (R-WO-4)."""
    with audit.origin(channel="worker"):
        services.auto_archive()


@db_periodic_task(crontab(minute="*/5"))
def sweep_deadlines():
    """Every 5 minutes: warn of deadlines within 24 hours, report those past (时限预警)."""
    with audit.origin(channel="worker"):
        supervision.sweep_deadlines()


@db_periodic_task(crontab(day_of_week="3", hour="9", minute="0"))
def weekly_overdue_list():
    """Wednesdays 09:00: each platform's list of overdue orders (每周逾期清单)."""
    with audit.origin(channel="worker"):
        supervision.weekly_overdue_list()


@db_periodic_task(crontab(minute="17"))
def sweep_orphan_attachments():
    """Hourly: delete attachment files that no attachment row references and that are more
    than an hour old (left by a rolled-back upload or a crash; 孤立附件文件)."""
    services.attachments_sweep_orphans()
