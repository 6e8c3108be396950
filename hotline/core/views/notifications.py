"""站内提醒: the signed-in person's notices — unread first — marked read one by one or
all at once; and the download of the weekly overdue lists the notices announce."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from hotline.web import pages

from .. import notify, selectors
from ..scope import scope_of

FILTERS = {"": "全部", "unread": "未读"}


@login_required
@require_GET
def notification_list(request):
    show = request.GET.get("show", "")
    if show not in FILTERS:
        show = ""
    notices = selectors.notifications_of(request.user)
    if show == "unread":
        notices = notices.filter(read_at__isnull=True)
    return render(
        request,
        "core/notifications/list.html",
        {
            "page": pages.page_of(request, notices, per_page=20),
            "unread": notify.unread_count(request.user),
            "show": show,
            "filters": FILTERS,
        },
    )


def _safe_next(request) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@login_required
@require_POST
def notification_read(request, pk: int):
    if notify.mark_read(user=request.user, pk=pk) is None:
        raise Http404("提醒不存在")
    return redirect(_safe_next(request) or "notifications")


@login_required
@require_POST
def notifications_read_all(request):
    count = notify.mark_all_read(user=request.user)
    messages.success(request, f"已将 {count} 条提醒标为已读" if count else "没有未读提醒")
    return redirect("notifications")


@pages.requires("workorders.supervise")
@require_GET
def overdue_report(request, name: str):
    """每周逾期工单清单 (xlsx) of a platform within the viewer's scope."""
    from hotline.workorders import supervision

    from ..models import Platform

    match = supervision.REPORT_NAME.match(name)
    path = supervision.report_path(name) if match else None
    platform = Platform.objects.filter(code=match["platform"]).first() if match else None
    if path is None or platform is None or not scope_of(request.user).covers_platform(platform.pk):
        raise Http404("报表不存在")
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"逾期工单清单-{name}")
