"""电话回拨 from a callback task: the agent's phone rings first; picked up, the node calls
the citizen over the trunk showing the hotline's number (never the agent's); both talk,
recorded with the task's session. A citizen who does not answer is reported on the task,
and bad requests are refused in Chinese."""

import asyncio

import pytest
from django.contrib.messages import get_messages

from hotline.contact.models import Session
from hotline.core.errors import Conflict, Unprocessable
from hotline.core.models import AuditEntry
from hotline.telephony import services
from hotline.telephony.models import CallRecording, OutboundCall

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
    assert OutboundCall.objects.get().result == "来电人未接听（486 Busy Here）"
    node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "BYE", 15))
    assert not CallRecording.objects.exists()


def test_bad_callbacks_are_refused_in_chinese(hotline, make_user):
    agent = make_user("agent", username="agent_nophone", display_name="话务员林涛")
    task = callback_task(hotline)
    with pytest.raises(Conflict, match="请先在坐席工作台"):
        services.callback_call(actor=agent, session=task)
    from hotline.contact import services as contact

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
