"""The ACD as agents and citizens see it: who gets which contact, in which order, within
which capacity; business hours, overflow, black/white lists, stickiness, transfer, the
fact log, and what survives a restart."""

import pytest
from django.db import IntegrityError, connection, transaction

from hotline.contact import acd, selectors, services
from hotline.contact.lifecycle import Activity, Presence, SessionState
from hotline.contact.models import (
    AgentPresence,
    AgentStateInterval,
    ContactFact,
    ListEntry,
    QueueEntry,
    QueueScheduleException,
    Session,
)
from hotline.core.errors import Conflict, Forbidden, Unprocessable
from hotline.core.models import AuditEntry

from .conftest import T0, at


def facts(session) -> list[str]:
    return list(ContactFact.objects.filter(session_id=session.pk).values_list("kind", flat=True))


def presence(user) -> AgentPresence:
    return AgentPresence.objects.get(agent=user)


# --- strategies ----------------------------------------------------------------------------------


def test_longest_idle_agent_gets_the_contact(agent, arrive):
    first = agent("甲", now=at(0))
    second = agent("乙", now=at(30))
    session = arrive("v1", now=at(60))
    assert session.agent_id == first.pk
    assert session.state == SessionState.ACTIVE  # auto accept by default
    assert facts(session) == ["offered", "queued", "assigned", "answered"]
    # the next one goes to the other agent: 甲 now has one chat, 乙 none, but longest
    # idle is about when each became free — 甲 is busy, 乙 idle since 30 s
    services.queue_update(actor=None, queue=session.queue, strategy="least_busy")
    other = arrive("v2", now=at(61))
    assert other.agent_id == second.pk


def test_least_busy_spreads_chats(cc, agent, arrive):
    services.queue_update(actor=None, queue=cc.general, strategy="least_busy")
    a, b = agent("甲", now=at(0)), agent("乙", now=at(1))
    owners = [arrive(f"w{i}", now=at(10 + i)).agent_id for i in range(4)]
    assert sorted(owners) == sorted([a.pk, b.pk, a.pk, b.pk])


def test_round_robin_takes_turns(cc, agent, arrive):
    services.queue_update(actor=None, queue=cc.general, strategy="round_robin")
    a, b, c = agent("甲", now=at(2)), agent("乙", now=at(1)), agent("丙", now=at(0))
    owners = [arrive(f"r{i}", now=at(10 + i)).agent_id for i in range(6)]
    assert owners[:3] == [a.pk, b.pk, c.pk]  # never offered: by pk
    assert owners[3:] == owners[:3]


def test_skill_level_strategy_prefers_the_expert(cc, agent, arrive):
    services.queue_update(actor=None, queue=cc.shebao, strategy="skill_level")
    agent("新手", level=2, now=at(0))
    expert = agent("专家", level=5, now=at(50))
    session = arrive("s1", queue=cc.shebao, now=at(60))
    assert session.agent_id == expert.pk


def test_agent_without_the_skill_gets_nothing_of_that_queue(cc, agent, arrive):
    agent("综合", now=at(0))
    session = arrive("s1", queue=cc.shebao, now=at(1))
    assert session.state == SessionState.QUEUED and session.agent_id is None
    skilled = agent("社保", level=3, now=at(5))
    assert Session.objects.get(pk=session.pk).agent_id == skilled.pk


def test_eligibility_widens_with_wait(cc, agent, arrive):
    services.queue_update(actor=None, queue=cc.shebao, min_skill_level=4, widen_after_seconds=30)
    junior = agent("初级", level=2, now=at(0))
    session = arrive("s1", queue=cc.shebao, now=at(1))
    assert session.state == SessionState.QUEUED
    acd.sweep(now=at(40))  # waited 39 s: level 3 needed
    assert Session.objects.get(pk=session.pk).state == SessionState.QUEUED
    acd.sweep(now=at(62))  # waited 61 s: level 2 — the junior agent may take it
    assert Session.objects.get(pk=session.pk).agent_id == junior.pk


def test_a_freed_agent_skips_contacts_it_may_not_serve_yet(cc, agent, arrive):
    """Emergencies rank first but, just arrived, still need a level-4 agent; a level-2
    agent who becomes free takes the first contact its level allows, however deep in the
    queue (deeper than the few an agent's decision reads first)."""
    services.queue_update(actor=None, queue=cc.shebao, min_skill_level=4, widen_after_seconds=60)
    waited = arrive("s-waited", queue=cc.shebao, now=at(0))
    urgent = [
        arrive(f"s-urgent{i}", queue=cc.shebao, now=at(170 + i), emergency=True)
        for i in range(acd.FIRST_LOOK + 1)
    ]
    junior = agent("初级", level=2, ready=False, now=at(180))
    services.agent_ready(actor=junior, now=at(181))  # waited 181 s: level 2 suffices
    assert Session.objects.get(pk=waited.pk).agent_id == junior.pk
    assert {s.state for s in Session.objects.filter(pk__in=[u.pk for u in urgent])} == {
        SessionState.QUEUED
    }


# --- caller order ---------------------------------------------------------------------------------


def test_priority_order_designated_vip_emergency(cc, agent, arrive):
    services.queue_update(actor=None, queue=cc.general, priority_numbers=["12345678"])
    plain = arrive("13900000001", channel="voice", now=at(0))
    designated = arrive("12345678", channel="voice", now=at(100))
    emergency = arrive("13900000002", channel="voice", now=at(200), emergency=True)
    later = arrive("13900000003", channel="voice", now=at(300))
    positions = {
        s.address: selectors.queue_position(s, now=at(301)).position
        for s in (plain, designated, emergency, later)
    }
    # emergency 1800 s ahead, designated 600 s ahead, then by wait
    assert positions == {"13900000002": 1, "12345678": 2, "13900000001": 3, "13900000003": 4}
    assert Session.objects.get(pk=designated.pk).priority_reasons == ["designated"]
    order = []
    for name in ("甲", "乙", "丙", "丁"):
        user = agent(name, now=at(400))
        order.append(Session.objects.get(agent=user).address)
    assert order == ["13900000002", "12345678", "13900000001", "13900000003"]


def test_position_announcement_and_expected_wait(cc, agent, arrive):
    first = arrive("x0", channel="voice", now=at(0))
    assert selectors.queue_position(first, now=at(1)).expected_wait is None
    waiting = [arrive(f"x{i}", channel="voice", now=at(i)) for i in range(1, 4)]
    pos = selectors.queue_position(waiting[1], now=at(5))
    assert (pos.position, pos.waiting) == (3, 4)
    assert pos.announcement == "您前面还有 2 位，请耐心等待。"
    agent("甲", now=at(120))  # answers x0 after 120 s
    pos = selectors.queue_position(waiting[1], now=at(121))
    assert pos.position == 2 and pos.expected_wait >= 120
    assert "预计等待约" in pos.announcement


# --- capacity ----------------------------------------------------------------------------------


def test_text_agent_carries_up_to_its_capacity(cc, agent, arrive):
    solo = agent("甲", text_capacity=3, now=at(0))
    sessions = [arrive(f"c{i}", now=at(i + 1)) for i in range(5)]
    assert [s.agent_id for s in sessions] == [solo.pk] * 3 + [None] * 2
    assert presence(solo).active_text == 3
    services.session_end(actor=solo, session=sessions[0], now=at(20))
    # a chat freed a place: the oldest waiting contact is offered at once
    assert Session.objects.get(pk=sessions[3].pk).agent_id == solo.pk
    assert Session.objects.get(pk=sessions[4].pk).state == SessionState.QUEUED


def test_voice_call_is_exclusive(cc, agent, arrive):
    solo = agent("甲", now=at(0))
    call = arrive("13800000000", channel="voice", now=at(1))
    chat = arrive("web-1", now=at(2))
    assert call.agent_id == solo.pk
    assert chat.state == SessionState.QUEUED  # no chat during a call
    second_call = arrive("13800000001", channel="voice", now=at(3))
    assert second_call.state == SessionState.QUEUED
    # and the database itself refuses a second live call for the agent
    with pytest.raises(IntegrityError), transaction.atomic():
        Session.objects.filter(pk=second_call.pk).update(agent=solo, state="active")


def test_text_agent_in_a_chat_gets_no_call(cc, agent, arrive):
    solo = agent("甲", now=at(0))
    arrive("web-1", now=at(1))
    call = arrive("13800000000", channel="voice", now=at(2))
    assert call.state == SessionState.QUEUED and solo.pk != call.agent_id


# --- agent states and wrap-up -------------------------------------------------------------------------


def test_wrap_up_then_auto_ready_or_auto_not_ready(cc, agent, arrive):
    a = agent("甲", wrap_up_seconds=30, now=at(0))
    s = arrive("c1", now=at(1))
    services.session_end(actor=a, session=s, now=at(60))
    assert presence(a).activity == Activity.WRAP_UP
    waiting = arrive("c2", now=at(61))
    assert waiting.state == SessionState.QUEUED  # nothing is offered during 整理
    services.session_close(actor=a, session=s, summary="咨询社保缴费基数，已答复。", now=at(70))
    assert presence(a).activity == Activity.IN_SESSION  # wrap-up over → next contact
    assert Session.objects.get(pk=waiting.pk).agent_id == a.pk
    b = agent("乙", after_wrap_up="not_ready", wrap_up_seconds=30, now=at(80))
    s2 = arrive("c3", now=at(81))
    assert s2.agent_id == b.pk
    services.session_end(actor=b, session=s2, now=at(90))
    acd.sweep(now=at(125))  # wrap-up timeout 30 s
    p = presence(b)
    assert (p.presence, p.reason, p.activity) == (Presence.NOT_READY, "after_session", "idle")
    assert Session.objects.get(pk=s2.pk).state == SessionState.CLOSED


def test_every_state_interval_is_stored(cc, agent, arrive):
    a = agent("甲", now=at(0))
    services.agent_not_ready(actor=a, reason="break", now=at(100))
    services.agent_ready(actor=a, now=at(400))
    services.agent_sign_out(actor=a, now=at(500))
    rows = list(AgentStateInterval.objects.filter(agent_id=a.pk).order_by("started_at", "pk"))
    assert [(r.presence, r.reason, r.seconds) for r in rows] == [
        ("ready", "", 100.0),
        ("not_ready", "break", 300.0),
        ("ready", "", 100.0),
        ("signed_out", "", None),
    ]
    figures = selectors.agent_today(a, now=at(600))
    assert figures["seconds"]["not_ready"] == 300 and figures["state"] == "签出"
    assert AuditEntry.objects.filter(action="contact.agent.not_ready", object_id=str(a.pk)).exists()


def test_manual_accept_and_no_answer(cc, agent, arrive):
    a = agent("甲", auto_accept=False, now=at(0))
    b = agent("乙", auto_accept=False, now=at(5))
    s = arrive("m1", now=at(10))
    assert (s.state, s.agent_id) == (SessionState.OFFERED, a.pk)
    assert presence(a).activity == Activity.OFFERING
    acd.sweep(now=at(31))  # 20 s offer timeout: back to its place, 甲 set 未应答示忙
    p = presence(a)
    assert (p.presence, p.reason) == (Presence.NOT_READY, "no_answer")
    s = Session.objects.get(pk=s.pk)
    assert (s.state, s.agent_id) == (SessionState.OFFERED, b.pk)  # re-offered at once
    services.session_accept(actor=b, session=s, now=at(35))
    assert facts(s) == ["offered", "queued", "assigned", "no_answer", "assigned", "answered"]
    answered = ContactFact.objects.get(session_id=s.pk, kind="answered")
    assert answered.wait_seconds == 25.0
    with pytest.raises(Conflict):
        services.session_accept(actor=a, session=s, now=at(36))


def test_sign_out_refused_with_a_session_open(cc, agent, arrive):
    a = agent("甲", now=at(0))
    arrive("c1", now=at(1))
    with pytest.raises(Conflict, match="不能签出"):
        services.agent_sign_out(actor=a, now=at(2))
    with pytest.raises(Unprocessable):
        services.agent_not_ready(actor=a, reason="forced", now=at(3))


def test_leader_forces_busy_and_agent_cannot_force_others(cc, agent, make_user):
    a, b = agent("甲"), agent("乙")
    services.agent_not_ready(actor=cc.leader, agent=a, now=at(5))
    assert presence(a).reason == "forced"
    with pytest.raises(Forbidden):
        services.agent_ready(actor=b, agent=a, now=at(6))


# --- business hours, overflow, lists ------------------------------------------------------------


WORKDAY = {str(d): [["08:00", "12:00"], ["14:00", "18:00"]] for d in range(5)}


def test_out_of_hours_leave_request_and_message(cc, agent, arrive):
    services.queue_update(actor=None, queue=cc.general, weekly_hours=WORKDAY)
    agent("甲", now=at(0))
    lunch = arrive("c1", now=T0.replace(hour=12, minute=30))
    assert (lunch.state, lunch.end_reason, lunch.needs_callback) == ("closed", "left_request", True)
    assert lunch.messages.get().body == cc.general.out_of_hours_message
    assert facts(lunch) == ["offered", "refused"]
    services.queue_update(actor=None, queue=cc.general, out_of_hours_action="message")
    saturday = arrive("c2", now=T0.replace(day=8))
    assert (saturday.state, saturday.end_reason) == ("closed", "out_of_hours")
    # a dated exception: a holiday closes a Tuesday
    QueueScheduleException.objects.create(queue=cc.general, date=T0.date(), name="节假日", hours=[])
    assert arrive("c3", now=T0).end_reason == "out_of_hours"


def test_out_of_hours_overflow_to_another_queue(cc, agent, arrive):
    night = services.queue_create(actor=None, platform=cc.platform, code="night", name="夜间值班")
    services.queue_update(
        actor=None,
        queue=cc.general,
        weekly_hours=WORKDAY,
        out_of_hours_action="overflow",
        out_of_hours_queue=night,
    )
    s = arrive("c1", now=T0.replace(hour=22))
    assert (s.state, s.queue_id) == (SessionState.QUEUED, night.pk)
    assert facts(s) == ["offered", "overflowed", "queued"]


def test_overflow_after_wait_keeps_the_place(cc, agent, arrive):
    backup = services.queue_create(actor=None, platform=cc.platform, code="backup", name="后备")
    services.queue_update(
        actor=None, queue=cc.shebao, overflow_queue=backup, overflow_after_seconds=60
    )
    old = arrive("c1", queue=cc.shebao, now=at(0))
    newer = arrive("c2", queue=backup, now=at(30))
    acd.sweep(now=at(61))
    assert Session.objects.get(pk=old.pk).queue_id == backup.pk
    assert facts(old) == ["offered", "queued", "overflowed", "queued"]
    # waited longer overall: first in the overflow queue
    assert selectors.queue_position(old, now=at(62)).position == 1
    assert selectors.queue_position(newer, now=at(62)).position == 2


def test_max_length_refuses_politely_unless_whitelisted(cc, arrive):
    services.queue_update(actor=None, queue=cc.general, max_length=2)
    arrive("a", now=at(0))
    arrive("b", now=at(1))
    full = arrive("c", now=at(2))
    assert (full.state, full.end_reason) == ("closed", "queue_full")
    services.list_add(
        actor=cc.leader,
        platform=cc.platform,
        kind="white",
        identity_kind="webchat",
        value="vip-visitor",
        reason="人大代表联络账号",
    )
    assert arrive("vip-visitor", now=at(3)).state == SessionState.QUEUED


def test_blacklist_refusal_is_logged_and_expires(cc, agent, arrive):
    from django.utils import timezone

    agent("甲", now=at(0))
    entry = services.list_add(
        actor=cc.leader,
        platform=cc.platform,
        kind="black",
        identity_kind="phone",
        value="13000000000",
        reason="恶意骚扰",
        expires_at=timezone.now() + __import__("datetime").timedelta(days=1),
    )
    refused = arrive("13000000000", channel="voice", now=timezone.now())
    assert (refused.state, refused.end_reason, refused.agent_id) == ("closed", "blacklist", None)
    fact = ContactFact.objects.get(session_id=refused.pk, kind="refused")
    assert fact.detail["reason"] == "blacklist"
    assert "暂无法接入" in refused.messages.get().body
    assert AuditEntry.objects.filter(action="contact.list.black_add").exists()
    later = timezone.now() + __import__("datetime").timedelta(days=2)  # expired
    assert arrive("13000000000", channel="voice", now=later).state == SessionState.ACTIVE
    services.list_remove(actor=cc.leader, entry=entry)
    assert ListEntry.objects.get(pk=entry.pk).removed_at is not None


# --- stickiness, transfer --------------------------------------------------------------------------


def test_follow_up_messages_stick_to_the_agent(cc, agent):
    first = agent("甲", now=at(0))
    m1 = services.message_inbound(
        platform=cc.platform,
        channel="wechat",
        address="openid-1",
        queue=cc.general,
        body="你好，我想咨询公积金",
        now=at(10),
    )
    second = agent("乙", now=at(11))  # idle longer than 甲 from now on
    m2 = services.message_inbound(
        platform=cc.platform,
        channel="wechat",
        address="openid-1",
        queue=cc.general,
        body="提取需要什么材料？",
        now=at(20),
    )
    assert m1.session_id == m2.session_id
    assert Session.objects.get(pk=m1.session_id).agent_id == first.pk
    services.session_end(actor=first, session=m1.session, now=at(30))
    services.session_close(actor=first, session=m1.session, summary="公积金提取材料", now=at(31))
    m3 = services.message_inbound(
        platform=cc.platform,
        channel="wechat",
        address="openid-1",
        queue=cc.general,
        body="还有一个问题",
        now=at(40),
    )
    assert m3.session_id != m1.session_id  # a closed session is not reopened
    assert m3.session.agent_id == second.pk
    assert m3.session.citizen_id == m1.session.citizen_id  # the same profile


def test_transfer_to_agent_queue_and_leader_keeps_history(cc, agent, make_user, arrive):
    from hotline.core.models import Team

    a, b = agent("甲", now=at(0)), agent("乙", now=at(100))
    team = Team.objects.create(platform=cc.platform, name="一班", leader=cc.leader)
    a.team = team
    a.save()
    s = arrive("t1", now=at(200))
    assert s.agent_id == a.pk
    services.message_inbound(
        platform=cc.platform,
        channel="webchat",
        address="t1",
        queue=cc.general,
        body="我要投诉",
        now=at(201),
    )
    with pytest.raises(Unprocessable):
        services.session_transfer(actor=a, session=s, summary="", to_agent=b, now=at(210))
    s = services.session_transfer(
        actor=a,
        session=s,
        summary="市民投诉噪音，需社保专席",
        to_agent=b,
        note="已核实地址",
        now=at(210),
    )
    assert (s.agent_id, s.state) == (b.pk, SessionState.ACTIVE)
    assert presence(a).active_text == 0 and presence(b).active_text == 1
    history = selectors.session_history(s)
    assert [leg.summary for leg in history["legs"]] == ["市民投诉噪音，需社保专席", ""]
    assert history["legs"][0].note == "已核实地址"  # for the agent taking over
    assert history["messages"][0].body == "我要投诉"
    # the citizen hears of the next agent by work number, never by name
    notice = history["messages"][-1].body
    assert f"已转接至{b.employee_no}号客服" in notice or "已转接至热线客服" in notice
    assert "话务员乙" not in notice
    # to a queue: waits again, at the front (its first queue time)
    arrive("other", now=at(215))  # goes to 甲 (idle)
    s = services.session_transfer(
        actor=b, session=s, summary="转社保队列", to_queue=cc.shebao, now=at(220)
    )
    assert s.state == SessionState.QUEUED and s.queue_id == cc.shebao.pk
    skilled = agent("丙", level=3, now=at(230))
    s = Session.objects.get(pk=s.pk)
    assert s.agent_id == skilled.pk
    # escalate to the leader (the leader must be signed in)
    skilled.team = team
    skilled.save()
    with pytest.raises(Conflict, match="未签入"):
        services.session_transfer(
            actor=skilled, session=s, summary="升级", to_leader=True, now=at(240)
        )
    services.agent_sign_in(actor=cc.leader, ready=False, now=at(241))
    s = services.session_transfer(
        actor=skilled, session=s, summary="升级班长", to_leader=True, now=at(242)
    )
    assert s.agent_id == cc.leader.pk
    assert facts(s).count("transferred") == 3
    assert AuditEntry.objects.filter(action="contact.session.transfer").count() == 3


# --- the whole life in facts; the citizen's side ---------------------------------------------------


def test_facts_of_a_whole_contact_and_the_rating(cc, agent, arrive):
    a = agent("甲", now=at(0))
    s = arrive("f1", now=at(10))
    reply = services.message_send(actor=a, session=s, body="您好，请讲。", now=at(11))
    assert reply.delivery == "pending"
    services.message_delivery(message=reply, status="sent")
    assert services.message_delivery(message=reply, status="delivered").delivery == "delivered"
    with pytest.raises(Conflict):
        services.message_delivery(message=reply, status="pending")
    services.session_end(actor=None, session=s, now=at(100))  # the citizen leaves
    with pytest.raises(Unprocessable):
        services.contact_rate(session=s, satisfaction="很好")
    services.contact_rate(session=s, satisfaction="满意")
    services.session_close(actor=a, session=s, summary="已答复", now=at(110))
    assert facts(s) == [
        "offered",
        "queued",
        "assigned",
        "answered",
        "responded",
        "ended",
        "closed",
    ]
    # 首次响应: one second after arrival, against the 3-minute text target (GB/T 33358)
    responded = ContactFact.objects.get(session_id=s.pk, kind="responded")
    assert (responded.wait_seconds, responded.detail) == (1.0, {"target": 180, "met": True})
    ended = ContactFact.objects.get(session_id=s.pk, kind="ended")
    assert ended.detail == {"reason": "citizen", "talk": 90.0}
    figures = selectors.queue_figures(cc.general, now=at(120))
    assert (figures["offered_today"], figures["answered_today"]) == (1, 1)


def test_abandon_while_waiting(cc, arrive):
    s = arrive("gone", channel="voice", now=at(0))
    s = services.contact_abandon(session=s, now=at(45))
    assert s.state == SessionState.ABANDONED
    assert ContactFact.objects.get(session_id=s.pk, kind="abandoned").wait_seconds == 45.0
    assert not QueueEntry.objects.filter(session=s).exists()
    assert selectors.queue_figures(cc.general, now=at(50))["abandoned_today"] == 1


def test_idle_text_session_closes(cc, agent, arrive):
    a = agent("甲", now=at(0))
    s = arrive("quiet", now=at(1))
    acd.sweep(now=at(500))
    assert Session.objects.get(pk=s.pk).state == SessionState.ACTIVE
    acd.sweep(now=at(700))  # 600 s without a word from the citizen
    s = Session.objects.get(pk=s.pk)
    assert (s.state, s.end_reason) == (SessionState.WRAP_UP, "idle")
    assert presence(a).activity == Activity.WRAP_UP


def test_fact_log_is_append_only(cc, arrive, audit_purge_forbidden):
    s = arrive("x", now=at(0))
    row = ContactFact.objects.filter(session_id=s.pk).first()
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        ContactFact.objects.all().delete()
    for sql in (
        "UPDATE contact_contactfact SET kind = 'ended'",
        "DELETE FROM contact_contactfact",
    ):
        with (
            pytest.raises(Exception, match="话务事实记录不可"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)


# --- restart safety -------------------------------------------------------------------------------


def test_queue_survives_a_restart_and_the_sweep_reoffers(cc, make_user, arrive):
    waiting = [arrive(f"r{i}", now=at(i)) for i in range(3)]
    # a "restart": nothing in memory; an agent signs in through a door that does not route
    # (the event lost), and only the worker's sweep finds the contacts waiting in the table
    user = make_user("agent", username="agent_late", display_name="话务员迟")
    p = services.presence_of(user)
    with transaction.atomic():
        acd.set_agent(
            AgentPresence.objects.select_for_update().get(pk=p.pk), "sign_in_ready", at(10)
        )
    assert QueueEntry.objects.count() == 3
    counts = acd.sweep(now=at(20))
    assert counts["assigned"] == 3
    assert {Session.objects.get(pk=s.pk).agent_id for s in waiting} == {user.pk}


def test_bad_queue_settings_are_refused_in_chinese(cc):
    with pytest.raises(Unprocessable, match="时段"):
        services.queue_update(
            actor=cc.leader, queue=cc.general, weekly_hours={"0": [["18:00", "08:00"]]}
        )
    with pytest.raises(Unprocessable, match="分配策略"):
        services.queue_update(actor=cc.leader, queue=cc.general, strategy="random")
    assert services.queue_update(actor=cc.leader, queue=cc.general, max_length=5).max_length == 5


# --- an agent's phone (坐席话机) -----------------------------------------------------------------


def test_a_call_rings_the_agents_phone_instead_of_being_auto_accepted(cc, agent, arrive):
    """With a phone set, a call is offered (the phone rings; picking up is the accept);
    a chat to the same agent is still taken at once."""
    desk = agent("甲", phone_uri="sip:8001@10.0.0.21:5060", now=at(0))
    call = arrive("13900000001", channel="voice", now=at(1))
    call.refresh_from_db()
    assert (call.state, call.agent_id) == ("offered", desk.pk)
    assert call.answered_at is None
    chat = arrive("visitor-1", now=at(2))
    assert chat.state == "queued"  # the agent is busy with the ringing call (voice is exclusive)


def test_a_phone_that_does_not_answer_passes_the_call_to_the_next_agent(cc, agent, arrive):
    first = agent("甲", phone_uri="sip:8001@10.0.0.21", now=at(0))
    second = agent("乙", phone_uri="sip:8002@10.0.0.22", now=at(5))
    call = arrive("13900000002", channel="voice", now=at(10))
    call.refresh_from_db()
    assert call.agent_id == first.pk  # longest idle
    assert services.voice_offer_unanswered(session=call, agent=first, now=at(20))
    call.refresh_from_db()
    assert (call.state, call.agent_id) == ("offered", second.pk)
    presence = AgentPresence.objects.get(agent=first)
    assert (presence.presence, presence.reason) == ("not_ready", "no_answer")
    # reported twice (a late 486 after the sweep took it back): nothing more happens
    assert not services.voice_offer_unanswered(session=call, agent=first, now=at(21))


@pytest.mark.parametrize(
    "bad", ["8001@10.0.0.21", "sip:10.0.0.21", "sip:8001@10.0.0.21:5060;transport=tcp", "http://x"]
)
def test_a_phone_that_is_not_a_sip_address_is_refused_in_chinese(cc, agent, bad):
    desk = agent("甲")
    with pytest.raises(Unprocessable, match="坐席话机须为 SIP 地址"):
        services.agent_settings_update(actor=desk, phone_uri=bad)
    assert AgentPresence.objects.get(agent=desk).phone_uri == ""
