"""Worker tasks of the core context."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import services


@db_periodic_task(crontab(minute="*"))
def heartbeat():
    """Every minute: tell /api/health that the worker is alive."""
    services.worker_heartbeat("worker")


@db_task()
def heartbeat_now():
    services.worker_heartbeat("worker")
