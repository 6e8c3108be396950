"""Worker tasks of the contact center: the ACD sweep, every 5 seconds.

Huey's periodic tasks have minute resolution, so the minute task runs one sweep and
schedules eleven more at 5-second offsets. Sweeps are idempotent (every step re-checks
under row locks), so an overlap after a restart does no harm.
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hotline.core import audit

from . import acd

SWEEP_EVERY = 5  # seconds


@db_task()
def acd_sweep():
    with audit.origin(channel="worker"):
        return acd.sweep()


@db_periodic_task(crontab(minute="*"))
def acd_sweep_minute():
    """Every minute: sweep now, and every 5 s until the next minute."""
    with audit.origin(channel="worker"):
        acd.sweep()
    for offset in range(SWEEP_EVERY, 60, SWEEP_EVERY):
        acd_sweep.schedule(delay=offset)
