"""Who joins a live call: a supervisor listens (nobody hears the supervisor), whispers
(only the agent does), barges in (both do) and releases the call (强拆); an agent brings
in 110 over the trunk (12345–110 联动) — all three talk, and when the agent hangs up the
caller talks on with 110 — or transfers the call to it outright. Each is recorded on
the session; bad requests are refused in Chinese."""

import asyncio
import wave

import numpy as np
import pytest
from django.conf import settings

from hotline.contact import services as contact
from hotline.contact.models import Session
from hotline.core.errors import Conflict, Forbidden, Unprocessable
from hotline.core.models import AuditEntry
from hotline.telephony import services
from hotline.telephony.models import CallParty, CallRecording, LinkageTarget

from .phone import speak, tone
from .test_bridge import agent_with_phone, into_queue
from .test_call import until

pytestmark = pytest.mark.django_db(transaction=True)

CALLER_HZ, AGENT_HZ, THIRD_HZ = 440, 1000, 700


def strength(samples: np.ndarray, frequency: float) -> float:
    """How far a tone stands out of the rest of the spectrum (≫ 10: it is there)."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    frequencies = np.fft.rfftfreq(len(samples), 1 / 8000)
    band = (frequencies > frequency - 15) & (frequencies < frequency + 15)
    return float(spectrum[band].max() / (np.median(spectrum) + 1e-9))


def hears(samples: np.ndarray, *present: int, absent: tuple = ()) -> bool:
    """The tones ``present`` stand out; those ``absent`` are fifty times weaker (what is
    left of them is the others' G.711 noise: ~1/150 measured)."""
    tail = samples[-6000:]
    loudest = [strength(tail, f) for f in present]
    faint = [strength(tail, f) for f in absent]
    return min(loudest) > 50 and all(f < min(loudest) / 50 for f in faint)


async def _all_speak(*phones_and_tones):
    await asyncio.gather(
        *(
            speak(phone, tone(hz, 1.5), getattr(phone, "payload_type", 0))
            for phone, hz in phones_and_tones
        )
    )
    await asyncio.sleep(0.3)


def talk(node, *phones_and_tones) -> list[np.ndarray]:
    """Everyone speaks their own tone at once; what each one heard meanwhile."""
    marks = [len(phone.audio) for phone, _ in phones_and_tones]
    node.phones.run(_all_speak(*phones_and_tones), timeout=10)
    return [phone.heard(mark) for (phone, _), mark in zip(phones_and_tones, marks, strict=True)]


def in_call(node, hotline, make_user, number):
    desk = node.agent_phone(answer_after=0.2)
    agent = agent_with_phone(make_user, desk)
    caller, session = into_queue(node, number)
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    node.phones.run(desk.acked.wait())
    return caller, desk, agent, Session.objects.get(pk=session.pk)


def party_state(party, state):
    until(lambda: CallParty.objects.get(pk=party.pk).state == state, timeout=10)


def test_a_supervisor_listens_whispers_barges_in_and_releases_the_call(
    node, hotline, make_user, login
):
    caller, desk, agent, session = in_call(node, hotline, make_user, "13866667777")
    leader_phone = node.agent_phone(answer_after=0.2)
    leader = make_user("team_leader", username="leader_voice", display_name="值班长周敏")
    contact.agent_settings_update(actor=leader, phone_uri=leader_phone.uri)

    # 监听 from the floor's API: the leader's own phone rings, showing the caller
    answer = login(leader).post(
        f"/api/voice/sessions/{session.pk}/monitor",
        {"mode": "listen"},
        content_type="application/json",
    )
    assert answer.status_code == 201 and answer.json()["mode_label"] == "监听"
    party = CallParty.objects.get(pk=answer.json()["id"])
    invite = node.phones.run(leader_phone.wait_for(lambda m: getattr(m, "method", "") == "INVITE"))
    assert invite.get_header("X-Hotline-Monitor") == "listen"
    assert invite.get_header("X-Hotline-Session") == session.ref
    assert "13866667777" in invite.get_header("From")
    party_state(party, "connected")
    node.phones.run(leader_phone.acked.wait())

    by_caller, by_agent, by_leader = talk(
        node, (caller, CALLER_HZ), (desk, AGENT_HZ), (leader_phone, THIRD_HZ)
    )
    assert hears(by_leader, CALLER_HZ, AGENT_HZ)  # the leader hears both
    assert hears(by_caller, AGENT_HZ, absent=(THIRD_HZ,))  # nobody hears the leader
    assert hears(by_agent, CALLER_HZ, absent=(THIRD_HZ,))

    # 耳语: the same party, now heard by the agent only
    assert services.party_supervise(actor=leader, session=session, mode="whisper").pk == party.pk
    assert AuditEntry.objects.filter(action="telephony.party.mode", actor=leader).exists()
    node.phones.run(asyncio.sleep(1.5))  # the node looks at the call every second
    by_caller, by_agent, _ = talk(
        node, (caller, CALLER_HZ), (desk, AGENT_HZ), (leader_phone, THIRD_HZ)
    )
    assert hears(by_agent, CALLER_HZ, THIRD_HZ)
    assert hears(by_caller, AGENT_HZ, absent=(THIRD_HZ,))

    # 强插: both hear the leader
    services.party_supervise(actor=leader, session=session, mode="barge")
    node.phones.run(asyncio.sleep(1.5))
    by_caller, by_agent, _ = talk(
        node, (caller, CALLER_HZ), (desk, AGENT_HZ), (leader_phone, THIRD_HZ)
    )
    assert hears(by_caller, AGENT_HZ, THIRD_HZ)
    assert hears(by_agent, CALLER_HZ, THIRD_HZ)

    # 强拆: every phone is hung up, the caller is told why
    contact.session_release(actor=leader, session=session)
    node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "BYE"))
    node.phones.run(leader_phone.wait_for(lambda m: getattr(m, "method", "") == "BYE"))
    node.phones.run(caller.wait_for(lambda m: getattr(m, "method", "") == "BYE", 15))
    party_state(party, "ended")
    assert Session.objects.get(pk=session.pk).end_reason == "released"

    # the recording's right channel is what the agent heard besides the caller
    saved = until(lambda: CallRecording.objects.filter(session=session).first())
    with wave.open(str(settings.MEDIA_ROOT / saved.file), "rb") as reader:
        both = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").reshape(-1, 2)
    assert strength(both[:, 1], THIRD_HZ) > 50 and strength(both[:, 1], AGENT_HZ) > 50
    caller_side = both[:, 0]  # the caller's alone
    assert strength(caller_side, THIRD_HZ) < strength(caller_side, CALLER_HZ) / 100


def test_the_agent_brings_in_110_then_hangs_up_and_the_caller_talks_on_with_it(
    node, hotline, make_user, login
):
    police = node.agent_phone(answer_after=0.3)  # 110 behind the trunk
    node.config.trunk = f"127.0.0.1:{police.sip_port}"
    caller, desk, agent, session = in_call(node, hotline, make_user, "13877778888")

    client = login(agent)
    targets = client.get("/api/voice/linkage-targets").json()
    assert [t["number"] for t in targets] == ["110", "119", "120", "122"]
    answer = client.post(
        f"/api/voice/sessions/{session.pk}/linkage",
        {"number": "110", "mode": "three_way"},
        content_type="application/json",
    )
    assert answer.status_code == 201
    party = CallParty.objects.get(pk=answer.json()["id"])

    # 110 sees the hotline's number; the caller's rides along (随路数据)
    invite = node.phones.run(police.wait_for(lambda m: getattr(m, "method", "") == "INVITE"))
    assert invite.uri.startswith("sip:110@")
    assert "12345" in invite.get_header("From")
    assert invite.get_header("X-Hotline-Caller") == "13877778888"
    party_state(party, "connected")
    node.phones.run(police.acked.wait())

    by_caller, by_agent, by_police = talk(
        node, (caller, CALLER_HZ), (desk, AGENT_HZ), (police, THIRD_HZ)
    )
    assert hears(by_caller, AGENT_HZ, THIRD_HZ)
    assert hears(by_agent, CALLER_HZ, THIRD_HZ)
    assert hears(by_police, CALLER_HZ, AGENT_HZ)

    # the agent hangs up: the session goes to wrap-up, the caller talks on with 110
    node.phones.run(desk.hang_up())
    until(lambda: Session.objects.get(pk=session.pk).state == "wrap_up")
    by_caller, by_police = talk(node, (caller, CALLER_HZ), (police, THIRD_HZ))
    assert hears(by_caller, THIRD_HZ) and hears(by_police, CALLER_HZ)
    assert not [m for m in caller.messages if getattr(m, "method", "") == "BYE"]

    # 110 hangs up: so is the caller (no survey: the call was 110's)
    node.phones.run(police.hang_up())
    node.phones.run(caller.wait_for(lambda m: getattr(m, "method", "") == "BYE", 10))
    party_state(party, "ended")
    assert CallParty.objects.get(pk=party.pk).result == "对方挂机"

    # the linkage record on the session, for its agent
    (listed,) = client.get(f"/api/voice/sessions/{session.pk}/parties").json()
    assert (listed["who"], listed["mode_label"], listed["state_label"]) == (
        "110 公安报警",
        "三方通话",
        "已结束",
    )
    assert listed["connected_at"] is not None
    assert AuditEntry.objects.filter(action="telephony.party.linkage", actor=agent).exists()
    until(lambda: CallRecording.objects.filter(session=session).exists())


def test_a_transfer_to_119_leaves_the_caller_with_it_and_frees_the_agent(node, hotline, make_user):
    fire = node.agent_phone(answer_after=0.3)
    node.config.trunk = f"127.0.0.1:{fire.sip_port}"
    caller, desk, agent, session = in_call(node, hotline, make_user, "13888889999")
    party = services.party_linkage(actor=agent, session=session, number="119", mode="transfer")
    party_state(party, "connected")
    node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "BYE"))
    until(lambda: Session.objects.get(pk=session.pk).state == "wrap_up")
    node.phones.run(fire.acked.wait())
    by_caller, by_fire = talk(node, (caller, CALLER_HZ), (fire, THIRD_HZ))
    assert hears(by_caller, THIRD_HZ) and hears(by_fire, CALLER_HZ)
    node.phones.run(caller.bye())
    node.phones.run(fire.wait_for(lambda m: getattr(m, "method", "") == "BYE"))
    party_state(party, "ended")
    assert CallParty.objects.get(pk=party.pk).result == "来电人挂机"


def test_without_a_trunk_the_linkage_fails_with_the_reason_and_the_call_goes_on(
    node, hotline, make_user
):
    caller, desk, agent, session = in_call(node, hotline, make_user, "13899990000")
    party = services.party_linkage(actor=agent, session=session, number="120", mode="three_way")
    party_state(party, "failed")
    assert "--trunk" in CallParty.objects.get(pk=party.pk).result
    by_caller, by_agent = talk(node, (caller, CALLER_HZ), (desk, AGENT_HZ))
    assert hears(by_caller, AGENT_HZ) and hears(by_agent, CALLER_HZ)
    node.phones.run(caller.bye())


def test_bad_requests_are_refused_in_chinese(hotline, make_user, login):
    agent = make_user("agent", username="agent_p", display_name="话务员孙丽")
    leader = make_user("team_leader", username="leader_p", display_name="值班长钱程")
    other = make_user("agent", username="agent_q", display_name="话务员赵强")
    call = Session.objects.create(
        ref="SYV1",
        platform=hotline.platform,
        channel="voice",
        address="13900001111",
        state="active",
        agent=agent,
    )
    chat = Session.objects.create(
        ref="SYW1", platform=hotline.platform, channel="webchat", state="active", agent=agent
    )
    with pytest.raises(Unprocessable, match="只有语音通话"):
        services.party_supervise(actor=leader, session=chat, mode="listen")
    with pytest.raises(Conflict, match="坐席话机"):
        services.party_supervise(actor=leader, session=call, mode="listen")
    with pytest.raises(Unprocessable, match="监听、耳语或强插"):
        services.party_supervise(actor=leader, session=call, mode="record")
    with pytest.raises(Forbidden):
        services.party_supervise(actor=other, session=call, mode="listen")
    with pytest.raises(Unprocessable, match="联动号码"):
        services.party_linkage(actor=agent, session=call, number="12306", mode="three_way")

    # a platform's own list replaces the national one
    LinkageTarget.objects.create(
        platform=hotline.platform, name="市公安局指挥中心", number="66661110"
    )
    party = services.party_linkage(actor=agent, session=call, number="66661110", mode="three_way")
    assert party.label == "66661110 市公安局指挥中心"
    with pytest.raises(Unprocessable, match="联动号码"):
        services.party_linkage(actor=agent, session=call, number="110", mode="three_way")
    with pytest.raises(Conflict, match="已有一个联动转接"):
        services.party_linkage(actor=agent, session=call, number="66661110", mode="transfer")

    client = login(agent)
    refused = client.post(
        f"/api/voice/sessions/{call.pk}/linkage",
        {"number": "66661110", "mode": "conference"},
        content_type="application/json",
    )
    assert refused.status_code == 422 and "三方通话或转接" in refused.json()["detail"]
    not_mine = login(other).post(
        f"/api/voice/sessions/{call.pk}/monitor",
        {"mode": "listen"},
        content_type="application/json",
    )
    assert not_mine.status_code == 404
    ended = client.post(f"/api/voice/parties/{party.pk}/end")
    assert ended.status_code == 200 and ended.json()["state_label"] == "已结束"
    assert ended.json()["result"] == "坐席挂断联动方"
    Session.objects.filter(pk=call.pk).update(state="wrap_up")
    with pytest.raises(Conflict, match="通话不在进行中"):
        services.party_linkage(actor=agent, session=call, number="66661110", mode="three_way")


def test_an_attended_transfer_consults_a_colleague_then_hands_the_caller_over(
    node, hotline, make_user, login
):
    caller, desk, agent, session = in_call(node, hotline, make_user, "13812121212")
    colleague_phone = node.agent_phone(answer_after=0.2)
    colleague = agent_with_phone(make_user, colleague_phone, "agent_colleague")

    # 咨询: the caller holds (music), the colleague's phone rings and picks up
    answer = login(agent).post(
        f"/api/voice/sessions/{session.pk}/consult",
        {"agent": colleague.pk},
        content_type="application/json",
    )
    assert answer.status_code == 201
    party = CallParty.objects.get(pk=answer.json()["id"])
    invite = node.phones.run(
        colleague_phone.wait_for(lambda m: getattr(m, "method", "") == "INVITE")
    )
    assert invite.get_header("X-Hotline-Consult") == "consult"
    party_state(party, "connected")
    node.phones.run(colleague_phone.acked.wait())
    node.phones.run(asyncio.sleep(1.2))  # the hold reaches the node within a second
    by_caller, by_agent, by_colleague = talk(
        node, (caller, CALLER_HZ), (desk, AGENT_HZ), (colleague_phone, THIRD_HZ)
    )
    assert hears(by_agent, THIRD_HZ, absent=(CALLER_HZ,))  # the agents talk privately
    assert hears(by_colleague, AGENT_HZ, absent=(CALLER_HZ,))
    assert strength(by_caller[-6000:], AGENT_HZ) < 50 and strength(by_caller[-6000:], THIRD_HZ) < 50

    # 完成转接: the caller is handed to the colleague, the first phone hangs up
    done = login(agent).post(
        f"/api/voice/parties/{party.pk}/complete",
        {"summary": "来电人咨询社保转移，已说明情况"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["agent"] == "话务员陈静"
    node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "BYE"))
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    until(lambda: Session.objects.get(pk=session.pk).agent_id == colleague.pk)
    assert Session.objects.get(pk=session.pk).held_at is None
    node.phones.run(asyncio.sleep(0.5))
    by_caller, by_colleague = talk(node, (caller, CALLER_HZ), (colleague_phone, THIRD_HZ))
    assert hears(by_caller, THIRD_HZ) and hears(by_colleague, CALLER_HZ)
    assert len(colleague_phone.requests("INVITE")) == 1  # never rung a second time
    assert CallParty.objects.get(pk=party.pk).result == "已完成转接"
    node.phones.run(caller.bye())
    node.phones.run(colleague_phone.wait_for(lambda m: getattr(m, "method", "") == "BYE"))


def test_a_cancelled_consultation_gives_the_caller_back_to_the_agent(node, hotline, make_user):
    caller, desk, agent, session = in_call(node, hotline, make_user, "13834343434")
    colleague_phone = node.agent_phone(answer_after=0.2)
    colleague = agent_with_phone(make_user, colleague_phone, "agent_colleague2")
    party = services.party_consult(actor=agent, session=session, to_agent=colleague)
    assert Session.objects.get(pk=session.pk).held_at is not None
    party_state(party, "connected")
    services.party_end(actor=agent, party=CallParty.objects.get(pk=party.pk))
    node.phones.run(colleague_phone.wait_for(lambda m: getattr(m, "method", "") == "BYE"))
    assert Session.objects.get(pk=session.pk).held_at is None
    node.phones.run(asyncio.sleep(1.2))
    by_caller, by_agent = talk(node, (caller, CALLER_HZ), (desk, AGENT_HZ))
    assert hears(by_caller, AGENT_HZ) and hears(by_agent, CALLER_HZ)
    with pytest.raises(Conflict, match="已结束"):
        services.party_consult_complete(
            actor=agent, party=CallParty.objects.get(pk=party.pk), summary="x"
        )
    node.phones.run(caller.bye())
