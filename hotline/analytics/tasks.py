"""Worker tasks of analytics: the scheduled reports (定时报表), written under
``VAR_DIR/reports/`` for every platform, each announced in-app to its 热线办.

The weekly overdue list is the work-order app's own task (Wednesdays 09:00,
``hotline.workorders.tasks.weekly_overdue_list``): not made a second time here.
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hotline.core import audit

from .reports import services

DAILY = ("traffic_daily",)
MONTHLY = ("hotline_monthly", "business_monthly", "orders", "workload", "satisfaction")
ANNUAL = ("annual",)


@db_periodic_task(crontab(hour="0", minute="30"))
def daily_reports():
    """Every day 00:30: yesterday's 话务日报."""
    with audit.origin(channel="worker"):
        services.scheduled_reports(DAILY, "day")


@db_periodic_task(crontab(day="1", hour="2", minute="0"))
def monthly_reports():
    """The 1st of each month 02:00: last month's 热线月报, 营商环境月报, 工单报表, 坐席工作量
    and 满意度; on 1 January also last year's 年报."""
    from django.utils import timezone

    with audit.origin(channel="worker"):
        services.scheduled_reports(MONTHLY, "month")
        if timezone.localdate().month == 1:
            services.scheduled_reports(ANNUAL, "year")
