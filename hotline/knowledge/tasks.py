"""Worker tasks of the knowledge base."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hotline.core import audit

from .services import compilations


@db_periodic_task(crontab(day_of_week="1", hour="6", minute="0"))
def weekly_compilation():
    """Mondays 06:00: last week's 知识汇编 (added, changed, expired) as xlsx and docx."""
    with audit.origin(channel="worker"):
        compilations.compilations_store_all(kind="week")


@db_periodic_task(crontab(day="1", hour="6", minute="10"))
def monthly_compilation():
    """The 1st of each month, 06:10: last month's 知识汇编 as xlsx and docx."""
    with audit.origin(channel="worker"):
        compilations.compilations_store_all(kind="month")
