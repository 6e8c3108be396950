"""An agent's phone (坐席话机): a call offered to the agent rings it; picked up, the
caller and the agent hear each other and the call is recorded; the agent hangs up and
the caller rates by key. A phone that refuses puts the call back in the queue; a caller
who gives up while the phone rings stops the ringing; a transfer on the desk hangs up
one phone and rings the next."""

import asyncio
import wave

import numpy as np
import pytest
from django.conf import settings

from hotline.contact import services as contact
from hotline.contact.models import AgentPresence, ContactFact, FactKind, Session
from hotline.core.errors import Unprocessable
from hotline.core.models import AuditEntry
from hotline.telephony.models import CallRecording

from .phone import dominant_frequency, speak, tone
from .test_call import loud, until

pytestmark = pytest.mark.django_db(transaction=True)


def agent_with_phone(make_user, phone, username="agent_desk"):
    agent = make_user("agent", username=username, display_name="话务员陈静")
    contact.agent_settings_update(actor=agent, phone_uri=phone.uri)
    contact.agent_sign_in(actor=agent, ready=True)
    return agent


def into_queue(node, number="13811112222"):
    phone = node.phone(number=number)
    assert node.phones.run(phone.call()).status_code == 200
    until(lambda: len(phone.audio) > 60, timeout=5)  # the welcome, into the menu
    node.phones.run(phone.press("2"))
    session = until(lambda: Session.objects.filter(channel="voice").first())
    return phone, session


def test_the_agent_picks_up_both_talk_the_call_is_recorded_and_rated(
    node, hotline, make_user, login
):
    desk = node.agent_phone(answer_after=0.3)
    agent = agent_with_phone(make_user, desk)
    caller, session = into_queue(node)

    # the phone rings with the session's number and the caller's (随路数据)
    invite = node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "INVITE"))
    assert invite.get_header("X-Hotline-Session") == session.ref
    assert "13811112222" in invite.get_header("From")
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    assert Session.objects.get(pk=session.pk).answered_at is not None
    assert AgentPresence.objects.get(agent=agent).activity == "in_session"

    # they hear each other: 440 Hz from the caller, 1000 Hz from the agent
    node.phones.run(desk.acked.wait())
    heard_by_caller, heard_by_agent = len(caller.audio), len(desk.audio)
    node.phones.run(_talk(caller, desk), timeout=10)
    agent_heard = desk.heard(heard_by_agent)
    caller_heard = caller.heard(heard_by_caller)
    assert loud(agent_heard) and abs(dominant_frequency(agent_heard) - 440) < 20
    assert abs(dominant_frequency(caller_heard[-4000:]) - 1000) < 20

    # the agent hangs up: the caller is asked to rate, presses 1
    assert node.phones.run(desk.hang_up()).status_code == 200
    until(lambda: Session.objects.get(pk=session.pk).state == "wrap_up")
    since = len(caller.audio)
    until(lambda: loud(caller.heard(since)), timeout=5)  # 请评价 …
    node.phones.run(caller.press("1"))
    until(lambda: Session.objects.get(pk=session.pk).satisfaction == "非常满意")
    node.phones.run(caller.wait_for(lambda m: getattr(m, "method", "") == "BYE", 15))

    # the recording: both parties, filed with the session and the agent
    saved = until(lambda: CallRecording.objects.filter(session=session).first())
    assert saved.agent == agent and saved.seconds > 1.0
    with wave.open(str(settings.MEDIA_ROOT / saved.file), "rb") as reader:
        assert (reader.getnchannels(), reader.getframerate()) == (2, 8000)
        both = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").reshape(-1, 2)
    assert abs(dominant_frequency(both[:, 0]) - 440) < 20  # left: the caller
    assert abs(dominant_frequency(both[:, 1]) - 1000) < 20  # right: the agent
    assert saved.size == (settings.MEDIA_ROOT / saved.file).stat().st_size

    # played back from the session by its agent (audited), not by another agent
    agent_client = login(agent)
    detail = agent_client.get(f"/api/contact/sessions/{session.pk}").json()
    (listed,) = detail["recordings"]
    assert listed["seconds"] == saved.seconds and listed["agent"] == "话务员陈静"
    played = agent_client.get(listed["url"])
    assert played.status_code == 200 and played["Content-Type"] == "audio/wav"
    assert b"".join(played.streaming_content)[:4] == b"RIFF"
    assert AuditEntry.objects.filter(action="telephony.recording.play", actor=agent).count() == 1
    stranger = make_user("agent", username="agent_other", display_name="话务员王磊")
    assert login(stranger).get(listed["url"]).status_code == 404


async def _talk(caller, desk):
    await asyncio.gather(
        speak(caller, tone(440, 1.5)), speak(desk, tone(1000, 1.5), desk.payload_type)
    )
    await asyncio.sleep(0.3)


def test_a_phone_that_refuses_puts_the_call_back_and_the_agent_to_not_ready(
    node, hotline, make_user
):
    desk = node.agent_phone(refuse=486)
    agent = agent_with_phone(make_user, desk)
    caller, session = into_queue(node, "13822223333")
    node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "ACK"))
    until(lambda: Session.objects.get(pk=session.pk).state == "queued")
    presence = AgentPresence.objects.get(agent=agent)
    assert (presence.presence, presence.reason) == ("not_ready", "no_answer")
    assert ContactFact.objects.filter(session_id=session.pk, kind=FactKind.NO_ANSWER).exists()
    assert node.phones.run(caller.bye()).status_code == 200
    until(lambda: Session.objects.get(pk=session.pk).state == "abandoned")


def test_the_caller_gives_up_while_the_phone_rings_and_the_ringing_stops(node, hotline, make_user):
    desk = node.agent_phone(answer_after=None)  # rings, nobody picks up
    agent_with_phone(make_user, desk)
    caller, session = into_queue(node, "13833334444")
    node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "INVITE"))
    assert Session.objects.get(pk=session.pk).state == "offered"
    node.phones.run(caller.bye())
    node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "CANCEL"))
    node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "ACK"))  # of the 487
    until(lambda: Session.objects.get(pk=session.pk).state == "abandoned")
    until(lambda: not node.legs)


def test_a_transfer_on_the_desk_hangs_up_one_phone_and_rings_the_next(node, hotline, make_user):
    first_phone = node.agent_phone(answer_after=0.2)
    second_phone = node.agent_phone(answer_after=0.2)
    first = agent_with_phone(make_user, first_phone, "agent_first")
    caller, session = into_queue(node, "13844445555")
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    node.phones.run(first_phone.acked.wait())
    second = agent_with_phone(make_user, second_phone, "agent_second")

    contact.session_transfer(
        actor=first,
        session=Session.objects.get(pk=session.pk),
        summary="咨询医保报销，转医保专席",
        to_agent=second,
    )
    node.phones.run(first_phone.wait_for(lambda m: getattr(m, "method", "") == "BYE"))
    invite = node.phones.run(second_phone.wait_for(lambda m: getattr(m, "method", "") == "INVITE"))
    assert invite.get_header("X-Hotline-Session") == session.ref
    node.phones.run(second_phone.acked.wait())
    since = len(caller.audio)
    node.phones.run(_speak_from(second_phone), timeout=10)
    assert abs(dominant_frequency(caller.heard(since)[-4000:]) - 1000) < 20

    node.phones.run(caller.bye())
    node.phones.run(second_phone.wait_for(lambda m: getattr(m, "method", "") == "BYE"))
    until(lambda: Session.objects.get(pk=session.pk).state == "wrap_up")
    # two recordings, one per agent's part of the call
    until(lambda: CallRecording.objects.filter(session=session).count() == 2)
    assert sorted(
        CallRecording.objects.filter(session=session).values_list("agent", flat=True)
    ) == [
        first.pk,
        second.pk,
    ]


async def _speak_from(phone):
    await speak(phone, tone(1000, 1.2), phone.payload_type)
    await asyncio.sleep(0.3)


def test_on_hold_the_caller_hears_music_and_the_agent_is_not_heard(node, hotline, make_user):
    desk = node.agent_phone(answer_after=0.2)
    agent = agent_with_phone(make_user, desk)
    caller, session = into_queue(node, "13855556666")
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    node.phones.run(desk.acked.wait())

    contact.session_hold(actor=agent, session=Session.objects.get(pk=session.pk), on=True)
    assert AuditEntry.objects.filter(action="contact.session.hold", actor=agent).exists()
    node.phones.run(asyncio.sleep(1.5))  # the node looks at the session every second
    heard_by_caller, heard_by_agent = len(caller.audio), len(desk.audio)
    node.phones.run(_talk(caller, desk), timeout=10)
    on_hold = caller.heard(heard_by_caller)
    assert loud(on_hold) and abs(dominant_frequency(on_hold) - 1000) > 50  # music, not the agent
    assert not loud(desk.heard(heard_by_agent))  # the caller is not heard either

    contact.session_hold(actor=agent, session=Session.objects.get(pk=session.pk), on=False)
    node.phones.run(asyncio.sleep(1.5))
    heard_by_caller = len(caller.audio)
    node.phones.run(_talk(caller, desk), timeout=10)
    assert abs(dominant_frequency(caller.heard(heard_by_caller)[-4000:]) - 1000) < 20
    node.phones.run(caller.bye())


def test_only_a_call_in_progress_can_be_held(hotline, make_user):
    agent = make_user("agent", username="agent_hold", display_name="话务员韩梅")
    chat = Session.objects.create(
        ref="SYW9", platform=hotline.platform, channel="webchat", state="active", agent=agent
    )
    with pytest.raises(Unprocessable, match="只有通话中的语音会话可以保持"):
        contact.session_hold(actor=agent, session=chat, on=True)
