"""Home-page panels of the work queues (首页面板). Each reads through selectors only and
shows nothing to a user who lacks the permission behind it.

``register()`` adds them to hotline.web.home; call it from ``WorkOrdersConfig.ready()``.
"""

from django.utils import timezone

from hotline.web import home

from . import selectors


def panel_dispatch(request):
    """派单员: 待派单 / 退单待审 / 办结待审 … counts, each linking to the desk tab."""
    if not request.user.can("workorders.dispatch"):
        return None
    return "workorders/desks/panels/dispatch.html", {
        "counts": selectors.dispatch_counts(request.user),
        "overdue": selectors.dispatch_queue(request.user)
        .filter(dispatch_due__lt=timezone.now())
        .count(),
    }


def panel_unit(request):
    """承办单位人员: 待签收 / 办理中 / 临期 / 逾期 of the own unit."""
    if not request.user.can("workorders.handle"):
        return None
    return "workorders/desks/panels/unit.html", {"counts": selectors.unit_counts(request.user)}


def panel_callback(request):
    """回访员: 待回访 and overdue, today's callbacks by me."""
    if not request.user.can("workorders.callback"):
        return None
    now = timezone.now()
    return "workorders/desks/panels/callback.html", {
        "counts": selectors.callback_counts(request.user, now=now),
        "done_today": selectors.callbacks_done_today(request.user, now=now),
    }


def panel_my_orders(request):
    """话务员: the orders I registered today (count and the last five)."""
    if not request.user.can("workorders.view"):
        return None
    mine = selectors.my_orders_today(request.user)
    return "workorders/desks/panels/my_orders.html", {
        "count": mine.count(),
        "orders": list(mine[:5]),
    }


PANELS = (
    (
        home.Panel("wo_dispatch", "hotline.workorders.panels.panel_dispatch", order=8),
        ("dispatcher",),
    ),
    (home.Panel("wo_unit", "hotline.workorders.panels.panel_unit", order=8), ("unit_handler",)),
    (home.Panel("wo_callback", "hotline.workorders.panels.panel_callback", order=8), ("callback",)),
    (home.Panel("wo_my_orders", "hotline.workorders.panels.panel_my_orders", order=8), ("agent",)),
)


def register() -> None:
    """Show the panels on the home pages of their roles (idempotent)."""
    for panel, roles in PANELS:
        home.register(panel, roles=roles)
