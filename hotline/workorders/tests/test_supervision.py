"""Notices of order events (on commit) and the deadline sweeps (时限预警、逾期、每周清单)."""

import datetime as dt

import pytest
from django.db import transaction
from django.test import override_settings
from django.urls import include, path
from django.utils import timezone
from openpyxl import load_workbook

from hotline.core.errors import Conflict
from hotline.core.models import Notification
from hotline.workorders import services, supervision
from hotline.workorders.models import Assignment

urlpatterns = [
    path("notifications/", include("hotline.core.urls_notifications")),
    path("", include("hotline.urls")),
]

NOW = timezone.make_aware(dt.datetime(2026, 11, 18, 10, 0))  # a Wednesday


def notices(user, **filters):
    return list(Notification.objects.filter(recipient=user, **filters).order_by("pk"))


# --- order events -------------------------------------------------------------------------------


def test_dispatch_tells_the_unit_on_commit(wo, new_order, act, django_capture_on_commit_callbacks):
    order = new_order()
    with django_capture_on_commit_callbacks(execute=True):
        act(wo.dispatcher, order, "dispatch", unit=wo.units.a, co_units=[wo.units.b])
    [to_a] = notices(wo.handler_a)
    assert to_a.title == f"新工单待签收 {order.number}"
    assert to_a.link == f"/orders/{order.number}/" and to_a.level == "info"
    assert len(notices(wo.handler_b)) == 1  # the co-unit too
    assert notices(wo.handler_c) == [] and notices(wo.dispatcher) == []


def test_a_refused_verb_tells_nobody(wo, new_order, act, django_capture_on_commit_callbacks):
    order = new_order()
    with django_capture_on_commit_callbacks(execute=True):
        act(wo.dispatcher, order, "dispatch", unit=wo.units.a)
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Conflict):
        act(wo.dispatcher, order, "dispatch", unit=wo.units.b)  # already dispatched
    assert callbacks == [] and Notification.objects.count() == before
    # a verb inside a transaction that rolls back tells nobody either
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                act(wo.dispatcher, order, "urge")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == [] and Notification.objects.count() == before


def test_the_next_person_is_told_at_each_step(
    wo, new_order, act, drive, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = drive(new_order(), "handling")
        act(wo.dispatcher, order, "urge", note="群众再次来电")
        act(wo.leader, order, "supervise")
        act(wo.handler_a, order, "request-extension", days=3, reason="需现场核查")
        act(wo.handler_a, order, "reply", content="已处理完毕。")
        act(wo.dispatcher, order, "review-reply", approved=True)
    urge, supervise = notices(wo.handler_a, level="warning")
    assert urge.title.startswith("催办") and "群众再次来电" in urge.body
    assert supervise.title.startswith("督办")
    titles = [n.title.split()[0] for n in notices(wo.dispatcher)]
    assert titles == ["延期待审", "办结待审"]
    assert [n.title.split()[0] for n in notices(wo.callback)] == ["待回访"]


def test_lead_return_tells_the_dispatchers(wo, new_order, act, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
        act(wo.handler_a, order, "return", reason="不属于本单位职责")
    [notice] = notices(wo.dispatcher)
    assert notice.title.startswith("退单待审") and "不属于本单位职责" in notice.body


# --- the sweep ----------------------------------------------------------------------------------


def dispatched(wo, new_order, act, **due):
    order = act(wo.dispatcher, new_order(), "dispatch", unit=wo.units.a)
    Assignment.objects.filter(order=order).update(**due)
    Notification.objects.all().delete()
    return order


def test_a_deadline_within_24_hours_warns_once(wo, new_order, act):
    order = dispatched(
        wo,
        new_order,
        act,
        sign_due=NOW + dt.timedelta(days=5),
        handle_due=NOW + dt.timedelta(hours=10),
    )
    for minutes in (0, 5, 10):
        supervision.sweep_deadlines(NOW + dt.timedelta(minutes=minutes))
    [warning] = notices(wo.handler_a)
    assert warning.level == "warning" and warning.title == f"办理即将到期 {order.number}"
    assert notices(wo.dispatcher) == [] and notices(wo.handler_b) == []
    # an extension moves the deadline: the new one warns again, once
    Assignment.objects.filter(order=order).update(handle_due=NOW + dt.timedelta(hours=20))
    supervision.sweep_deadlines(NOW)
    supervision.sweep_deadlines(NOW)
    assert len(notices(wo.handler_a)) == 2


def test_past_due_tells_the_unit_and_the_dispatchers(wo, new_order, act):
    order = dispatched(
        wo,
        new_order,
        act,
        sign_due=NOW - dt.timedelta(hours=2),
        handle_due=NOW + dt.timedelta(days=10),
    )
    sent = supervision.sweep_deadlines(NOW)
    supervision.sweep_deadlines(NOW + dt.timedelta(minutes=5))
    assert sent == {"warning": 0, "overdue": 2}
    for person in (wo.handler_a, wo.dispatcher):
        [overdue] = notices(person)
        assert overdue.level == "danger" and overdue.title == f"签收已逾期 {order.number}"
        assert "已逾期 2小时0分钟" in overdue.body
    assert notices(wo.callback) == []


def test_signed_branch_no_longer_sweeps_its_sign_deadline(wo, new_order, act):
    order = dispatched(wo, new_order, act, sign_due=NOW - dt.timedelta(hours=1), handle_due=None)
    act(wo.handler_a, order, "sign")
    Notification.objects.all().delete()
    supervision.sweep_deadlines(NOW)
    assert Notification.objects.count() == 0


def test_order_deadlines_tell_dispatchers_and_callback_agents(wo, new_order, act, drive):
    waiting = new_order()
    waiting.dispatch_due = NOW - dt.timedelta(minutes=30)
    waiting.save()
    to_call = drive(new_order(), "callback_pending")
    to_call.callback_due = NOW + dt.timedelta(hours=3)
    to_call.save()
    Notification.objects.all().delete()
    supervision.sweep_deadlines(NOW)
    supervision.sweep_deadlines(NOW)
    [late] = notices(wo.dispatcher)
    assert late.title == f"派单已逾期 {waiting.number}" and late.level == "danger"
    [soon] = notices(wo.callback)
    assert soon.title == f"回访即将到期 {to_call.number}" and soon.level == "warning"


# --- the weekly list ----------------------------------------------------------------------------


@pytest.fixture
def media(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


def test_weekly_list_writes_the_overdue_orders(wo, new_order, act, make_user, media):
    late = dispatched(
        wo, new_order, act, sign_due=None, handle_due=NOW - dt.timedelta(days=2, hours=3)
    )
    late.handle_due = NOW - dt.timedelta(days=2, hours=3)
    late.urge_count = 2
    late.save()
    on_time = dispatched(wo, new_order, act, handle_due=NOW + dt.timedelta(days=3))
    on_time.handle_due = NOW + dt.timedelta(days=3)
    on_time.save()
    manager = make_user("manager", platform=wo.org.sy)
    [written] = supervision.weekly_overdue_list(NOW)
    assert written == media / "reports" / "overdue" / "SY-2026-11-18.xlsx"
    sheet = load_workbook(written).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == ["编号", "标题", "承办单位", "状态", "时限", "逾期时长", "催办次数"]
    assert [r[0] for r in rows[1:]] == [late.number]
    number, title, unit, state, due, overdue, urged = rows[1]
    assert unit == wo.units.a.name and state == "待签收" and overdue == "2天3小时"
    assert urged == 2 and due == timezone.localtime(late.handle_due).strftime("%Y-%m-%d %H:%M")
    for person in (manager, wo.dispatcher):
        [notice] = notices(person, kind="report.overdue")
        assert notice.link == "/notifications/reports/overdue/SY-2026-11-18.xlsx/"
    assert notices(wo.handler_a, kind="report.overdue") == []
    supervision.weekly_overdue_list(NOW)  # a second run the same day announces nothing new
    assert len(notices(manager, kind="report.overdue")) == 1


@pytest.mark.urls(__name__)
def test_report_download_needs_the_right_and_a_real_name(
    wo, new_order, act, make_user, login, media
):
    dispatched(wo, new_order, act, handle_due=NOW - dt.timedelta(days=1))
    order = Assignment.objects.get().order
    order.handle_due = NOW - dt.timedelta(days=1)
    order.save()
    supervision.weekly_overdue_list(NOW)
    url = "/notifications/reports/overdue/SY-2026-11-18.xlsx/"
    response = login(wo.dispatcher).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"
    assert login(wo.handler_a).get(url).status_code == 403  # no supervise right
    yz_manager = make_user("manager", platform=wo.org.yz)
    assert login(yz_manager).get(url).status_code == 404  # not in scope
    client = login(wo.dispatcher)
    for bad in ("..%2F..%2Fsecret_key", "SY-2026-11-19.xlsx", "..", "SY-2026-11-18.xlsx.bak"):
        assert client.get(f"/notifications/reports/overdue/{bad}/").status_code == 404


def test_services_hook_is_registered_on_commit(wo, new_order, django_capture_on_commit_callbacks):
    """order_create's hook: a 特急 order waiting for dispatch tells the dispatchers."""
    with django_capture_on_commit_callbacks(execute=True):
        order = new_order(urgency="critical")
    [notice] = notices(wo.dispatcher)
    assert notice.title == f"特急工单待派单 {order.number}" and notice.level == "warning"
    assert services.notify_order_event is not None
