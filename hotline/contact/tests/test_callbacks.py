"""回拨任务: a citizen who writes out of hours leaves a request; what they write next adds
to it; an agent finds it on the callback page, calls back, records the result — or makes
an order from it."""

import pytest

from hotline.contact import services
from hotline.contact.connectors import Inbound
from hotline.contact.models import Session

from .conftest import T0

WORKDAY = {str(d): [["08:00", "12:00"], ["14:00", "18:00"]] for d in range(5)}
LUNCH = T0.replace(hour=12, minute=30)


@pytest.fixture
def left_request(cc):
    services.queue_update(actor=None, queue=cc.general, weekly_hours=WORKDAY)
    entry = services.channel_entry_create(
        actor=None,
        platform=cc.platform,
        channel="webchat",
        code="web",
        name="网页",
        queue=cc.general,
    )
    visitor = "b" * 32
    first = services.inbound_receive(
        entry=entry, inbound=Inbound(address=visitor, body="路灯坏了好几天"), now=LUNCH
    )
    second = services.inbound_receive(
        entry=entry,
        inbound=Inbound(address=visitor, body="在凤凰路口"),
        now=LUNCH.replace(minute=35),
    )
    return first, second


def test_what_the_citizen_writes_next_adds_to_the_left_request(left_request):
    first, second = left_request
    assert first.session_id == second.session_id
    session = Session.objects.get()
    assert (session.state, session.end_reason, session.needs_callback) == (
        "closed",
        "left_request",
        True,
    )


def test_an_agent_calls_back_and_records_the_result(left_request, cc, agent, login, make_user):
    worker = agent("林")
    client = login(worker)
    page = client.get("/contact/callbacks/").content.decode()
    assert "路灯坏了好几天<br>在凤凰路口" in page and "非服务时间留言" in page
    session = Session.objects.get()
    # the order form is filled from the request
    intake = client.get(f"/orders/new/?session={session.pk}").content.decode()
    assert "路灯坏了好几天\n在凤凰路口" in intake

    refused = client.post("/contact/callbacks/", {"session": session.pk, "note": " "})
    assert refused.status_code == 400 and "请填写回拨结果" in refused.content.decode()
    done = client.post(
        "/contact/callbacks/", {"session": session.pk, "note": "已电话回复，转城管处理"}
    )
    assert done.status_code == 302
    session.refresh_from_db()
    assert not session.needs_callback and session.callback_by == worker
    assert session.callback_note == "已电话回复，转城管处理"
    again = client.post("/contact/callbacks/", {"session": session.pk, "note": "再次"})
    assert again.status_code == 400 and "该回拨任务已处理" in again.content.decode()

    # another platform's agent neither sees nor closes it
    yz_agent = make_user("agent", platform=cc.org.yz, username="agent_yz_cb")
    other = login(yz_agent)
    assert "路灯坏了好几天" not in other.get("/contact/callbacks/").content.decode()
    assert (
        other.post("/contact/callbacks/", {"session": session.pk, "note": "x"}).status_code == 404
    )


def test_the_page_needs_the_agents_permission(left_request, login, make_user, cc):
    handler = make_user("unit_handler", unit=cc.org.sy_units[0], username="handler_cb")
    assert login(handler).get("/contact/callbacks/").status_code == 403


def test_a_caller_who_hangs_up_in_the_queue_becomes_a_missed_call_task(cc, arrive, login, agent):
    from .conftest import at

    waited = arrive("13911112222", channel="voice", now=at(0))
    services.contact_abandon(session=waited, now=at(40))
    misdial = arrive("13933334444", channel="voice", now=at(50))
    services.contact_abandon(session=misdial, now=at(52))  # gone within seconds
    again = arrive("13911112222", channel="voice", now=at(60))
    services.contact_abandon(session=again, now=at(90))  # already has one open
    chat = arrive("c" * 32, now=at(70))
    services.contact_abandon(session=chat, now=at(120))  # a web visitor has no number

    tasks = Session.objects.filter(needs_callback=True)
    assert [(s.address, s.callback_reason) for s in tasks] == [("13911112222", "漏接回拨")]
    page = login(agent("林")).get("/contact/callbacks/").content.decode()
    assert "漏接回拨" in page
