"""电话回拨 from a callback task: the agent's phone rings first; picked up, the node calls
the citizen over the trunk showing the hotline's number (never the agent's); both talk,
recorded with the task's session. A citizen who does not answer is reported on the task,
and bad requests are refused in Chinese. Out of hours, a caller leaves a voice message
on the callback task."""

import asyncio
import datetime as dt
import wave

import numpy as np
import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.utils import timezone

from hotline.contact import services as contact
from hotline.contact.models import Session
from hotline.core.errors import Conflict, Unprocessable
from hotline.core.models import AuditEntry
from hotline.telephony import services
from hotline.telephony.models import CallRecording, MediaNodeStatus, OutboundCall

from .phone import dominant_frequency, speak, tone
from .test_bridge import agent_with_phone
from .test_call import until

pytestmark = pytest.mark.django_db(transaction=True)


def callback_task(hotline, number="13955556666") -> Session:
    """A caller who left a request out of hours (a 回拨任务)."""
    return Session.objects.create(
        ref=f"SY{number}",
        platform=hotline.platform,
        channel="voice",
        address=number,
        state="closed",
        needs_callback=True,
    )


def test_the_agent_picks_up_then_the_citizen_sees_the_hotline_number_and_they_talk(
    node, hotline, make_user, login
):
    desk = node.agent_phone(answer_after=0.2)
    citizen = node.agent_phone(answer_after=0.5)  # the citizen's phone behind the trunk
    agent = agent_with_phone(make_user, desk)
    node.serve_callbacks_threadsafe(f"127.0.0.1:{citizen.sip_port}")
    task = callback_task(hotline)

    client = login(agent)
    page = client.post(f"/voice/callbacks/{task.pk}/dial")
    assert page.status_code == 302
    assert "已发起电话回拨" in [str(m) for m in get_messages(page.wsgi_request)][0]
    assert AuditEntry.objects.filter(action="telephony.callback.dial", actor=agent).exists()

    # the agent's phone rings first, showing whom it will call
    ring = node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "INVITE"))
    assert "13955556666" in ring.get_header("From")
    assert ring.get_header("X-Hotline-Session") == task.ref
    # then the citizen's, over the trunk, showing 12345 — nothing of the agent's phone
    invite = node.phones.run(citizen.wait_for(lambda m: getattr(m, "method", "") == "INVITE"))
    assert invite.uri.startswith("sip:13955556666@")
    assert "<sip:12345@" in invite.get_header("From")
    assert "8001" not in invite.get_header("From") and "X-Hotline-Session" not in str(invite)
    until(lambda: OutboundCall.objects.get().state == "connected")

    node.phones.run(citizen.acked.wait())
    since = len(desk.audio)
    node.phones.run(_say(citizen, 600), timeout=10)
    assert abs(dominant_frequency(desk.heard(since)[-4000:]) - 600) < 20

    node.phones.run(citizen.hang_up())
    node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "BYE"))
    until(lambda: OutboundCall.objects.get().state == "ended")
    assert OutboundCall.objects.get().result == "来电人挂机"
    saved = until(lambda: CallRecording.objects.filter(session=task).first())
    assert saved.agent == agent and saved.seconds > 1.0

    # the task page shows how it went
    html = client.get("/contact/callbacks/").content.decode()
    assert "电话回拨：已结束（来电人挂机）" in html


def test_a_citizen_who_does_not_answer_is_reported_on_the_task(node, hotline, make_user):
    desk = node.agent_phone(answer_after=0.2)
    citizen = node.agent_phone(refuse=486)
    agent = agent_with_phone(make_user, desk)
    node.serve_callbacks_threadsafe(f"127.0.0.1:{citizen.sip_port}")
    task = callback_task(hotline, "13966667777")
    services.callback_call(actor=agent, session=task)
    until(lambda: OutboundCall.objects.get().state == "failed", timeout=15)
    assert OutboundCall.objects.get().result == "来电人未接听：486 Busy Here"
    node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "BYE", 15))
    assert not CallRecording.objects.exists()


def test_bad_callbacks_are_refused_in_chinese(hotline, make_user):
    agent = make_user("agent", username="agent_nophone", display_name="话务员林涛")
    task = callback_task(hotline)
    with pytest.raises(Conflict, match="请先在坐席工作台"):
        services.callback_call(actor=agent, session=task)
    contact.agent_settings_update(actor=agent, phone_uri="sip:8009@10.0.0.9")
    services.callback_call(actor=agent, session=task)
    with pytest.raises(Conflict, match="尚未结束"):
        services.callback_call(actor=agent, session=task)
    webchat = Session.objects.create(
        ref="SYW1",
        platform=hotline.platform,
        channel="webchat",
        address="visitor-9",
        needs_callback=True,
    )
    with pytest.raises(Unprocessable, match="没有电话号码"):
        services.callback_call(actor=agent, session=webchat)


async def _say(phone, frequency):
    await speak(phone, tone(frequency, 1.2), phone.payload_type)
    await asyncio.sleep(0.3)


def test_out_of_hours_the_caller_leaves_a_voice_message_on_the_callback_task(
    node, hotline, make_user, login
):
    """留言，转回拨任务: the notice, a beep, the caller speaks and presses #; the message is
    filed with the task and plays on the 回拨任务 page."""
    contact.queue_update(
        actor=None,
        queue=hotline.queue,
        weekly_hours={str(d): [] for d in range(7)},
        out_of_hours_action="leave_request",
        out_of_hours_message="现在是非服务时间，请在提示音后留言。",
    )
    services.ivr_flow_save(
        actor=None,
        platform=hotline.platform,
        code="quick",
        name="直接排队",
        number="12345",
        start="queue",
        nodes={"queue": {"type": "queue", "queue": "general"}},
    )
    caller = node.phone(number="13977778888")
    assert node.phones.run(caller.call()).status_code == 200
    task = until(lambda: Session.objects.filter(needs_callback=True).first(), timeout=10)
    # the notice and the beep, then the message
    until(lambda: _beeped(caller), timeout=15)
    node.phones.run(speak(caller, tone(440, 2.0)), timeout=10)
    node.phones.run(caller.press("#"))
    node.phones.run(caller.wait_for(lambda m: getattr(m, "method", "") == "BYE", 15))

    message = until(lambda: CallRecording.objects.filter(session=task).first())
    assert message.agent is None and 1.5 < message.seconds < 4
    with wave.open(str(settings.MEDIA_ROOT / message.file), "rb") as reader:
        assert reader.getnchannels() == 1
        heard = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    assert abs(dominant_frequency(heard) - 440) < 20

    agent = make_user("agent", username="agent_cb", display_name="话务员宋雨")
    html = login(agent).get("/contact/callbacks/").content.decode()
    assert f"/voice/recordings/{message.pk}.wav" in html and "语音留言" in html


def _beeped(phone) -> bool:
    """The 1 kHz beep was heard (the last half second of what came in)."""
    heard = phone.heard()
    return len(heard) > 4000 and abs(dominant_frequency(heard[-4000:]) - 1000) < 20


def test_callbacks_nobody_will_finish_are_ended_with_the_reason(hotline, make_user):
    """No node with a trunk takes it within a minute; its node went silent; hours old."""
    agent = make_user("agent", username="agent_sweep", display_name="话务员何平")
    task = callback_task(hotline)
    now = timezone.now()

    def call(state, minutes_ago, node=""):
        return OutboundCall.objects.create(
            platform=hotline.platform,
            session=task,
            agent=agent,
            number=task.address,
            caller_id="12345",
            state=state,
            node=node,
            created_at=now - dt.timedelta(minutes=minutes_ago),
        )

    MediaNodeStatus.objects.create(
        name="alive:5080", address="10.0.0.1:5080", started_at=now, last_seen=now
    )
    MediaNodeStatus.objects.create(
        name="silent:5080",
        address="10.0.0.2:5080",
        started_at=now,
        last_seen=now - dt.timedelta(minutes=3),
    )
    fresh = call("requested", 0)
    unclaimed = call("requested", 2)
    lost = call("connected", 5, node="silent:5080")
    talking = call("connected", 5, node="alive:5080")
    ancient = call("connected", 180, node="alive:5080")

    assert services.callbacks_sweep(now) == {"unclaimed": 1, "node_lost": 1, "too_long": 1}
    states = {c.pk: (c.state, c.result) for c in OutboundCall.objects.all()}
    assert states[fresh.pk] == ("requested", "")
    assert states[unclaimed.pk] == ("failed", "没有可外呼的媒体节点（需以 --trunk 启动）")
    assert states[lost.pk] == ("failed", "媒体节点中断")
    assert states[talking.pk] == ("connected", "")
    assert states[ancient.pk] == ("ended", "通话超时，已结束")


def test_a_call_from_an_order_is_logged_on_its_timeline_with_its_recording(
    node, hotline, make_user, login
):
    from hotline.workorders import services as orders
    from hotline.workorders.models import Event
    from hotline.workorders.tests.conftest import category

    desk = node.agent_phone(answer_after=0.2)
    citizen = node.agent_phone(answer_after=0.4)
    callback_agent = make_user("callback", username="callback_voice", display_name="回访员孙丽")
    contact.phone_set(actor=callback_agent, phone_uri=desk.uri)
    node.serve_callbacks_threadsafe(f"127.0.0.1:{citizen.sip_port}")
    order = orders.order_create(
        actor=make_user("agent", username="agent_intake", display_name="话务员陈静"),
        platform=hotline.platform,
        order_type="complaint",
        title="小区路灯不亮",
        content="凤凰路小区路灯已坏一周。",
        caller_name="王先生",
        caller_phone="13812345678",
        category=category(),
    )

    client = login(callback_agent)
    page = client.post(f"/voice/orders/{order.number}/dial", {"next": f"/orders/{order.number}/"})
    assert page.status_code == 302 and page["Location"] == f"/orders/{order.number}/"
    ring = node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "INVITE"))
    assert ring.get_header("X-Hotline-Session") == order.number
    invite = node.phones.run(citizen.wait_for(lambda m: getattr(m, "method", "") == "INVITE"))
    assert invite.uri.startswith("sip:13812345678@") and "<sip:12345@" in invite.get_header("From")
    until(lambda: OutboundCall.objects.get().state == "connected")
    node.phones.run(citizen.acked.wait())
    node.phones.run(_say(citizen, 600), timeout=10)
    node.phones.run(desk.hang_up())
    node.phones.run(citizen.wait_for(lambda m: getattr(m, "method", "") == "BYE"))

    # on the timeline: who called, how it went, how long they talked
    event = until(lambda: Event.objects.filter(order=order, action="phone_call").first())
    assert event.actor == callback_agent and event.data["connected"] is True
    assert event.data["result"] == "坐席挂机" and event.data["seconds"] >= 1
    saved = until(lambda: CallRecording.objects.filter(call__order=order).first())
    assert saved.session is None and saved.seconds > 1.0
    html = client.get(f"/orders/{order.number}/").content.decode()
    assert "电话外呼" in html and "外呼结果" in html and f"/voice/recordings/{saved.pk}.wav" in html
    assert client.get(f"/voice/recordings/{saved.pk}.wav").status_code == 200
    # the intake agent may see the order but not play the call (回访 only)
    assert login(order.created_by).get(f"/voice/recordings/{saved.pk}.wav").status_code == 404


def test_an_order_without_a_phone_cannot_be_called(hotline, make_user):
    from hotline.workorders import services as orders
    from hotline.workorders.tests.conftest import category

    callback_agent = make_user("callback", username="callback_nophone", display_name="回访员林涛")
    contact.phone_set(actor=callback_agent, phone_uri="sip:8009@10.0.0.9")
    order = orders.order_create(
        actor=make_user("agent", username="agent_intake2", display_name="话务员陈静"),
        platform=hotline.platform,
        order_type="suggestion",
        title="建议增加公交班次",
        content="建议 12 路公交增加早高峰班次。",
        category=category(),
        caller_name="匿名",
        caller_phone="",
    )
    with pytest.raises(Unprocessable, match="没有来电人电话"):
        services.order_call(actor=callback_agent, order=order)
