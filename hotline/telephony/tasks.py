"""The voice app's worker tasks: callbacks and call parties nobody will finish are ended
(every minute)."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import services

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
def callbacks_sweep():
    counts = services.callbacks_sweep()
    if any(counts.values()):
        log.info("电话回拨清理：%s", counts)


@db_periodic_task(crontab(minute="*"))
def parties_sweep():
    swept = services.parties_sweep()
    if swept:
        log.info("通话加入方清理：%s 个", swept)
