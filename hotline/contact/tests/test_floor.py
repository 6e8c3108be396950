"""The supervisor seat (班长席) as a leader uses it: the live floor, forced states, barging
into a chat (强插), releasing it (强拆), taking it over (接管), announcements to agents by
audience and period (公告), and routing settings changed on the queue page taking effect
on the very next routing decision."""

import datetime as dt

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from hotline.contact import acd, services
from hotline.contact.connectors import Inbound, webchat
from hotline.contact.lifecycle import Activity, Presence, SessionState
from hotline.contact.models import (
    AgentPresence,
    Announcement,
    ContactFact,
    Message,
    Queue,
    Session,
    SessionParticipant,
)
from hotline.core.errors import Conflict, Forbidden, Unprocessable
from hotline.core.models import AuditEntry, Team
from hotline.testing import Socket

from .conftest import T0, at


def presence(user) -> AgentPresence:
    return AgentPresence.objects.get(agent=user)


def post(client, path, data=None):
    return client.post(path, data or {}, content_type="application/json")


@pytest.fixture
def entry(cc):
    return services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="webchat",
        code="web",
        name="网页在线咨询",
        queue=cc.general,
    )


def chat_from(entry, visitor: str, body: str, now=None) -> Session:
    message = services.inbound_receive(
        entry=entry, inbound=Inbound(address=visitor, body=body), now=now
    )
    return Session.objects.get(pk=message.session_id)


VISITOR = "a" * 32


@pytest.fixture
def member(make_user):
    """``member(name, team, now=…)`` → a signed-in agent of ``team``."""

    def make(name: str, team: Team, now=T0):
        user = make_user("agent", username=f"agent_{name}", display_name=f"话务员{name}", team=team)
        services.agent_sign_in(actor=user, now=now)
        return user

    return make


# --- the floor and forced states ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_floor_shows_every_agent_with_state_sessions_and_queue_figures(
    cc, agent, member, entry, make_user, api
):
    team = Team.objects.create(platform=cc.platform, name="早班一组", leader=cc.leader)
    now = timezone.now() - dt.timedelta(minutes=1)  # today, in the past
    busy = member("甲", team, now=now)
    idle = agent("乙", now=now + dt.timedelta(seconds=1))
    away = make_user("agent", username="agent_off", display_name="话务员丙")
    session = chat_from(entry, VISITOR, "我想问医保报销", now=now + dt.timedelta(seconds=2))
    assert session.agent_id == busy.pk
    chat_from(entry, "b" * 32, "第二位", now=now + dt.timedelta(seconds=3))  # to 乙
    services.agent_not_ready(actor=cc.leader, agent=idle, now=now + dt.timedelta(seconds=4))

    response = api(cc.leader).get("/api/contact/floor")
    assert response.status_code == 200, response.content
    data = response.json()
    rows = {row["name"]: row for row in data["agents"]}
    assert rows["话务员甲"]["state"] == "会话中" and rows["话务员甲"]["team"] == "早班一组"
    assert rows["话务员甲"]["answered_today"] == 1
    assert [s["channel"] for s in rows["话务员甲"]["sessions"]] == ["webchat"]
    assert rows["话务员甲"]["sessions"][0]["citizen"] == "网页在线访客"
    assert (rows["话务员甲"]["active_text"], rows["话务员甲"]["text_capacity"]) == (1, 5)
    assert rows["话务员乙"]["state"] == "会话中" and rows["话务员乙"]["reason"] == "forced"
    # an agent who never signed in is on the floor too, signed out
    assert rows[away.display_name]["state"] == "签出"
    general = next(q for q in data["queues"] if q["name"] == "综合咨询")
    assert general["answered_today"] == 2 and general["waiting"] == 0
    assert data["totals"]["agents_signed_in"] == 2 and data["totals"]["answered_today"] == 2
    assert {"id": team.pk, "name": "早班一组"} in data["teams"]

    # an agent may not look at the floor
    assert api(busy).get("/api/contact/floor").status_code == 403


@pytest.mark.django_db
def test_forced_states_for_a_supervisor_refused_for_an_agent(
    cc, agent, arrive, api, make_user, org
):
    a, b = agent("甲"), agent("乙")
    # an agent cannot force a colleague, through the service or the API
    with pytest.raises(Forbidden):
        services.agent_not_ready(actor=b, agent=a)
    response = post(api(b), f"/api/contact/agents/{a.pk}/state", {"event": "not_ready"})
    assert response.status_code == 403 and "权限" in response.json()["detail"]
    assert presence(a).presence == Presence.READY

    leader = api(cc.leader)
    response = post(leader, f"/api/contact/agents/{a.pk}/state", {"event": "not_ready"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "班长强制示忙"
    assert presence(a).reason == "forced"
    forced = AuditEntry.objects.filter(action="contact.agent.not_ready", object_id=str(a.pk)).get()
    assert forced.actor_id == cc.leader.pk and forced.detail["forced"] is True

    response = post(leader, f"/api/contact/agents/{a.pk}/state", {"event": "ready"})
    assert response.json()["state"] == "示闲"

    # signing out an agent with a session open: the state machine says no, in Chinese
    holder = arrive("c1", now=at(10)).agent
    free = b if holder == a else a
    response = post(leader, f"/api/contact/agents/{holder.pk}/state", {"event": "sign_out"})
    assert response.status_code == 409
    assert "不能签出" in response.json()["detail"]
    assert presence(holder).presence == Presence.READY
    # a free agent is signed out (强退)
    response = post(leader, f"/api/contact/agents/{free.pk}/state", {"event": "sign_out"})
    assert response.status_code == 200 and response.json()["state"] == "签出"

    # unknown verbs and agents of another platform
    assert post(leader, f"/api/contact/agents/{a.pk}/state", {"event": "x"}).status_code == 422
    yz = make_user("agent", platform=org.yz, username="agent_yz2")
    assert post(leader, f"/api/contact/agents/{yz.pk}/state", {"event": "ready"}).status_code == 404


# --- 强插, 强拆, 接管 ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_barge_in_the_supervisor_writes_to_the_citizen_and_the_agent_sees_it(
    cc, entry, make_user, login
):
    worker = make_user("agent", username="agent_b", display_name="话务员小林", employee_no="1023")
    services.agent_sign_in(actor=worker)
    token = webchat.visitor_token(entry)
    visitor = webchat.verify(entry, token)
    session = chat_from(entry, visitor, "我要投诉噪音扰民")
    assert session.agent_id == worker.pk
    leader_client, agent_client = login(cc.leader), login(worker)
    other = make_user("team_leader", username="leader_other", display_name="值班长吴")

    # before barging in, a supervisor may watch but not write
    response = post(
        leader_client, f"/api/contact/sessions/{session.pk}/messages", {"body": "插一句"}
    )
    assert response.status_code == 403

    async def scenario():
        citizen = Socket(f"/ws/chat/SY/{entry.code}/?t={token}")
        desk = Socket("/ws/desk/", agent_client)
        seat = Socket("/ws/desk/", leader_client)
        assert await citizen.connect() and await desk.connect() and await seat.connect()
        await citizen.receive_until(lambda m: m["event"] == "hello")
        await desk.receive_until(lambda m: m["event"] == "ready")
        await seat.receive_until(lambda m: m["event"] == "ready")
        await seat.send_json_to({"type": "watch_session", "id": session.pk})

        response = await sync_to_async(post)(
            leader_client, f"/api/contact/sessions/{session.pk}/barge"
        )
        assert response.status_code == 200, response.content
        notice = await citizen.receive_until(
            lambda m: m["event"] == "message" and m["message"]["kind"] == "event"
        )
        assert "值班长已加入" in notice["message"]["body"]
        joined = await desk.receive_until(lambda m: m["event"] == "participant")
        assert joined["joined"] is True and joined["user"] == cc.leader.pk

        response = await sync_to_async(post)(
            leader_client,
            f"/api/contact/sessions/{session.pk}/messages",
            {"body": "您好，我是值班长，已通知城管部门到场处理。"},
        )
        assert response.status_code == 201, response.content
        said = await citizen.receive_until(
            lambda m: m["event"] == "message" and "城管" in m["message"]["body"]
        )
        assert said["message"]["direction"] == "out"
        seen = await desk.receive_until(
            lambda m: m["event"] == "message" and "城管" in m["message"]["body"]
        )
        assert seen["message"]["sender"] == cc.leader.display_name
        watched = await seat.receive_until(
            lambda m: m["event"] == "message" and "城管" in m["message"]["body"]
        )
        assert watched["session"] == session.pk
        for socket in (citizen, desk, seat):
            await socket.disconnect()

    async_to_sync(scenario)()
    # the agent still holds the session: one open leg, its own
    session.refresh_from_db()
    assert session.agent_id == worker.pk and session.legs.filter(ended_at__isnull=True).count() == 1
    transcript = agent_client.get(f"/api/contact/sessions/{session.pk}").json()["messages"]
    assert any(m["sender"] == cc.leader.display_name for m in transcript)
    assert AuditEntry.objects.filter(action="contact.session.barge", actor=cc.leader).exists()

    # barging in again is the same participation; another leader has not barged in
    services.session_barge(actor=cc.leader, session=session)
    assert SessionParticipant.objects.filter(session=session, left_at__isnull=True).count() == 1
    with pytest.raises(Forbidden):
        services.message_send(actor=other, session=session, body="我也说一句")
    # after leaving, the leader writes no more
    assert post(leader_client, f"/api/contact/sessions/{session.pk}/leave").status_code == 200
    with pytest.raises(Forbidden):
        services.message_send(actor=cc.leader, session=session, body="再说一句")
    # an agent cannot barge in
    assert post(agent_client, f"/api/contact/sessions/{session.pk}/barge").status_code == 403


@pytest.mark.django_db
def test_barge_needs_an_active_text_session(cc, agent, arrive):
    worker = agent("甲")
    call = arrive("13800000001", channel="voice", now=at(1))
    assert call.agent_id == worker.pk
    with pytest.raises(Conflict, match="语音"):
        services.session_barge(actor=cc.leader, session=call)
    waiting = arrive("v2", now=at(2))  # the agent is on a call: the chat waits
    with pytest.raises(Conflict, match="排队中"):
        services.session_barge(actor=cc.leader, session=waiting)
    with pytest.raises(Forbidden):
        services.session_barge(actor=worker, session=waiting)


@pytest.mark.django_db
def test_release_ends_the_session_politely_and_frees_the_agent(cc, agent, arrive, api):
    worker = agent("甲", text_capacity=1, wrap_up_enabled=False)
    first = arrive("v1", now=at(1))
    second = arrive("v2", now=at(2))
    assert first.agent_id == worker.pk and second.state == SessionState.QUEUED
    services.session_barge(actor=cc.leader, session=first, now=at(3))

    response = post(api(cc.leader), f"/api/contact/sessions/{first.pk}/release")
    assert response.status_code == 200, response.content
    assert response.json()["end_reason"] == "released"
    first.refresh_from_db()
    assert first.state == SessionState.WRAP_UP and first.end_reason == "released"
    last = first.messages.order_by("at", "pk").last()
    assert last.kind == Message.Kind.EVENT and "本次会话已结束" in last.body
    ended = ContactFact.objects.get(session_id=first.pk, kind="ended")
    assert ended.detail["reason"] == "released"
    assert not SessionParticipant.objects.filter(session=first, left_at__isnull=True).exists()
    # the agent's place is free: the waiting chat came to it at once
    assert Session.objects.get(pk=second.pk).agent_id == worker.pk
    assert presence(worker).active_text == 1
    assert AuditEntry.objects.filter(
        action="contact.session.release", object_id=str(first.pk)
    ).exists()

    # released already: a second 强拆 is refused, as is one by an agent
    assert post(api(cc.leader), f"/api/contact/sessions/{first.pk}/release").status_code == 409
    assert post(api(worker), f"/api/contact/sessions/{second.pk}/release").status_code == 403


@pytest.mark.django_db
def test_release_with_wrap_up_leaves_the_agent_to_write_its_summary(cc, agent, arrive):
    worker = agent("甲")
    session = arrive("v1", now=at(1))
    services.session_release(actor=cc.leader, session=session, now=at(5))
    p = presence(worker)
    assert (p.activity, p.active_text) == (Activity.WRAP_UP, 0)
    services.session_close(actor=worker, session=session, summary="班长强拆，已记录诉求", now=at(9))
    assert presence(worker).activity == Activity.IDLE


@pytest.mark.django_db
def test_take_over_moves_the_session_to_the_signed_in_supervisor(cc, agent, arrive, api):
    worker = agent("甲")
    session = arrive("v1", now=at(1))
    response = post(api(cc.leader), f"/api/contact/sessions/{session.pk}/takeover")
    assert response.status_code == 409 and "签入" in response.json()["detail"]

    services.agent_sign_in(actor=cc.leader, ready=False, now=at(2))
    services.session_barge(actor=cc.leader, session=session, now=at(3))
    response = post(api(cc.leader), f"/api/contact/sessions/{session.pk}/takeover")
    assert response.status_code == 200, response.content
    session.refresh_from_db()
    assert session.agent_id == cc.leader.pk and session.state == SessionState.ACTIVE
    assert session.legs.filter(ended_at__isnull=True).get().agent_id == cc.leader.pk
    assert presence(worker).active_text == 0 and presence(cc.leader).active_text == 1
    # the barge ended with the takeover; the leader now writes as the session's agent
    assert not SessionParticipant.objects.filter(session=session, left_at__isnull=True).exists()
    services.message_send(actor=cc.leader, session=session, body="您好，由我继续为您服务。")


# --- announcements ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_announcements_reach_their_audience_while_in_force(cc, member, api):
    team = Team.objects.create(platform=cc.platform, name="早班一组")
    other_team = Team.objects.create(platform=cc.platform, name="晚班组")
    a = member("甲", team)
    b = member("乙", other_team)
    now = timezone.now()
    later = now + dt.timedelta(hours=4)
    everyone = services.announcement_publish(
        actor=cc.leader, title="系统维护", body="15:00 系统升级", ends_at=later
    )
    morning = services.announcement_publish(
        actor=cc.leader,
        title="例会",
        body="17:30 开班组例会",
        level="warning",
        audience="team",
        team=team,
        ends_at=later,
    )
    only_b = services.announcement_publish(
        actor=cc.leader,
        title="请到班长席",
        body="有事相商",
        audience="agent",
        agent=b,
        ends_at=later,
    )
    services.announcement_publish(
        actor=cc.leader,
        title="明天的通知",
        body="明早 8 点培训",
        starts_at=now + dt.timedelta(hours=1),
        ends_at=later,
    )

    def titles(user):
        response = api(user).get("/api/contact/announcements")
        assert response.status_code == 200
        return [item["title"] for item in response.json()["items"]]

    assert sorted(titles(a)) == sorted(["系统维护", "例会"])
    assert sorted(titles(b)) == sorted(["系统维护", "请到班长席"])
    item = next(
        i for i in api(a).get("/api/contact/announcements").json()["items"] if i["id"] == morning.pk
    )
    assert item == {
        "id": morning.pk,
        "title": "例会",
        "body": "17:30 开班组例会",
        "level": "warning",
        "until": timezone.localtime(later).isoformat(),
        "sender": cc.leader.display_name,
    }

    # withdrawn: gone; expired: gone
    services.announcement_withdraw(actor=cc.leader, announcement=only_b)
    assert titles(b) == ["系统维护"]
    Announcement.objects.filter(pk=everyone.pk).update(
        starts_at=now - dt.timedelta(hours=2), ends_at=now - dt.timedelta(minutes=1)
    )
    assert titles(b) == []
    with pytest.raises(Conflict):
        services.announcement_withdraw(actor=cc.leader, announcement=only_b)

    # the supervisor's list, with each one's status
    listed = {
        row["title"]: row
        for row in api(cc.leader).get("/api/contact/announcements/published").json()
    }
    assert listed["请到班长席"]["status"] == "已撤回"
    assert listed["明天的通知"]["status"] == "未生效"
    assert listed["系统维护"]["status"] == "已过期"
    assert listed["例会"]["audience_label"] == "班组：早班一组"
    assert AuditEntry.objects.filter(action="contact.announcement.publish").count() == 4
    assert AuditEntry.objects.filter(action="contact.announcement.withdraw").count() == 1


@pytest.mark.django_db
def test_publishing_is_for_supervisors_and_checks_its_fields(cc, agent, api, org):
    a = agent("甲")
    later = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    body = {"title": "通知", "body": "内容", "ends_at": later}
    assert post(api(a), "/api/contact/announcements", body).status_code == 403
    leader = api(cc.leader)
    response = post(leader, "/api/contact/announcements", body)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "生效中"

    cases = [
        ({"title": "  "}, "title", "标题"),
        ({"audience": "team"}, "team", "班组"),
        ({"audience": "agent", "agent": 999999}, "agent", "坐席"),
        ({"ends_at": (timezone.now() - dt.timedelta(minutes=1)).isoformat()}, "ends_at", "有效期"),
        ({"ends_at": (timezone.now() + dt.timedelta(days=120)).isoformat()}, "ends_at", "90 天"),
        ({"level": "urgent"}, "level", "级别"),
    ]
    for change, field, words in cases:
        response = post(leader, "/api/contact/announcements", {**body, **change})
        assert response.status_code == 422, (change, response.content)
        assert response.json()["field"] == field and words in response.json()["detail"]
    other_team = Team.objects.create(platform=org.yz, name="崖州班")
    with pytest.raises(Unprocessable, match="本平台的班组"):
        services.announcement_publish(
            actor=cc.leader,
            title="t",
            body="b",
            audience="team",
            team=other_team,
            ends_at=timezone.now() + dt.timedelta(hours=1),
        )
    assert Announcement.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_announcement_arrives_live_on_the_recipients_desk(cc, make_user, login):
    team = Team.objects.create(platform=cc.platform, name="早班一组")
    member = make_user("agent", username="agent_m", team=team)
    outsider = make_user("agent", username="agent_o")
    member_client, outsider_client = login(member), login(outsider)

    async def scenario():
        mine, theirs = Socket("/ws/desk/", member_client), Socket("/ws/desk/", outsider_client)
        assert await mine.connect() and await theirs.connect()
        await mine.receive_until(lambda m: m["event"] == "ready")
        await theirs.receive_until(lambda m: m["event"] == "ready")
        made = await sync_to_async(services.announcement_publish)(
            actor=cc.leader,
            title="例会",
            body="17:30 开例会",
            audience="team",
            team=team,
            ends_at=timezone.now() + dt.timedelta(hours=1),
        )
        event = await mine.receive_until(lambda m: m["event"] == "announcement")
        assert event["id"] == made.pk and event["title"] == "例会" and event["level"] == "info"
        assert event["sender"] == cc.leader.display_name and event["until"]
        await sync_to_async(services.announcement_withdraw)(actor=cc.leader, announcement=made)
        gone = await mine.receive_until(lambda m: m["event"] == "announcement_withdrawn")
        assert gone["id"] == made.pk
        # the other team's agent heard nothing of it
        assert await theirs.receive_nothing(timeout=0.3)

        # one published ahead of time goes out when its start comes (the worker's sweep)
        start = timezone.now() + dt.timedelta(minutes=30)
        later = await sync_to_async(services.announcement_publish)(
            actor=cc.leader,
            title="交班提醒",
            body="18:00 交班，请提前整理会话小结",
            audience="team",
            team=team,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
        )
        assert await mine.receive_nothing(timeout=0.3)
        assert await sync_to_async(services.announcements_due)(now=start) == 1
        event = await mine.receive_until(lambda m: m["event"] == "announcement")
        assert event["id"] == later.pk and event["title"] == "交班提醒"
        assert await sync_to_async(services.announcements_due)(now=start) == 0  # once
        await mine.disconnect()
        await theirs.disconnect()

    async_to_sync(scenario)()


# --- routing settings changed live ------------------------------------------------------------------


QUEUE_FORM = {
    "name": "综合咨询",
    "is_active": "on",
    "strategy": "longest_idle",
    "skill": "",
    "min_skill_level": "1",
    "widen_after_seconds": "0",
    "skill_bonus_seconds": "10",
    "overflow_queue": "",
    "overflow_after_seconds": "0",
    "max_length": "0",
    "full_message": "您好，当前咨询人数较多，请稍后再联系我们。",
    "max_wait_seconds": "0",
    "offer_timeout_seconds": "20",
    "idle_close_seconds": "600",
    "out_of_hours_action": "leave_request",
    "out_of_hours_message": "您好，现在是非服务时间。",
    "out_of_hours_queue": "",
    "priority_numbers": "",
    "designated_priority_seconds": "600",
    "vip_priority_seconds": "300",
    "emergency_priority_seconds": "1800",
    **{f"hours_{day}": "00:00-24:00" for day in range(7)},
}


@pytest.mark.django_db
def test_a_strategy_changed_on_the_page_decides_the_very_next_contact(cc, agent, arrive, login):
    novice = agent("新手", level=2, now=at(0))  # idle longest
    expert = agent("专家", level=5, now=at(30))
    stale = Queue.objects.get(pk=cc.shebao.pk)  # what a running process holds in memory
    client = login(cc.leader)
    page = f"/floor/queues/{cc.shebao.pk}/"
    shebao = {**QUEUE_FORM, "name": "社保咨询", "skill": str(cc.skill.pk)}
    assert client.get(page).status_code == 200

    # longest idle (as created) would give the novice the chat; 技能等级优先 gives the expert
    response = client.post(page, {**shebao, "strategy": "skill_level"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert arrive("v1", queue=stale, now=at(60)).agent_id == expert.pk
    assert stale.strategy == "longest_idle"  # the caller's copy was never refreshed

    # and back: the expert is still the better skilled, but the novice is the one idle
    response = client.post(page, {**shebao, "strategy": "longest_idle"})
    assert response.status_code == 302
    assert arrive("v2", queue=stale, now=at(61)).agent_id == novice.pk


@pytest.mark.django_db
def test_an_overflow_set_on_the_page_moves_waiting_contacts_on_the_next_sweep(
    cc, agent, arrive, login
):
    backup = services.queue_create(actor=None, platform=cc.platform, code="backup", name="后备")
    waiting = arrive("v1", queue=cc.shebao, now=at(0))  # nobody has the skill: it waits
    assert acd.sweep(now=at(120))["overflowed"] == 0  # no overflow set yet

    client = login(cc.leader)
    response = client.post(
        f"/floor/queues/{cc.shebao.pk}/",
        {
            **QUEUE_FORM,
            "name": "社保咨询",
            "skill": str(cc.skill.pk),
            "overflow_queue": str(backup.pk),
            "overflow_after_seconds": "60",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    generalist = agent("综合", now=at(121))
    # the generalist is no member of 社保: the chat still waits, until the sweep overflows it
    assert Session.objects.get(pk=waiting.pk).agent_id is None
    counts = acd.sweep(now=at(125))
    assert counts["overflowed"] == 1
    moved = Session.objects.get(pk=waiting.pk)
    assert (moved.queue_id, moved.agent_id) == (backup.pk, generalist.pk)


@pytest.mark.django_db
def test_the_queue_form_shows_the_services_refusals_in_chinese(cc, login):
    client = login(cc.leader)
    page = f"/floor/queues/{cc.general.pk}/"
    response = client.post(page, {**QUEUE_FORM, "hours_0": "18:00-08:00"})
    assert response.status_code == 200
    assert "周一的时段 18:00-08:00 的结束须晚于开始" in response.content.decode()
    response = client.post(page, {**QUEUE_FORM, "hours_2": "上午"})
    assert "格式不正确" in response.content.decode()
    response = client.post(page, {**QUEUE_FORM, "out_of_hours_action": "overflow"})
    assert "请选择转至的队列" in response.content.decode()
    cc.general.refresh_from_db()
    assert cc.general.out_of_hours_action == "leave_request"
    assert cc.general.weekly_hours["0"] == [["00:00", "24:00"]]

    # business hours written per day, and the priority numbers one per line
    response = client.post(
        page,
        {
            **QUEUE_FORM,
            "hours_5": "09:00-12:00，14:00-17:00",
            "hours_6": "",
            "priority_numbers": "13800000001\n13800000002",
        },
    )
    assert response.status_code == 302
    cc.general.refresh_from_db()
    assert cc.general.weekly_hours["5"] == [["09:00", "12:00"], ["14:00", "17:00"]]
    assert cc.general.weekly_hours["6"] == []
    assert cc.general.priority_numbers == ["13800000001", "13800000002"]
    assert AuditEntry.objects.filter(action="contact.queue.update", actor=cc.leader).exists()


@pytest.mark.django_db
def test_the_pages_are_for_supervisors_and_configurers(cc, agent, login, make_user):
    worker = agent("甲")
    assert login(worker).get("/floor/").status_code == 403
    assert login(worker).get("/floor/queues/").status_code == 403
    manager = make_user("manager", username="manager_x")
    page = login(manager).get("/floor/")
    assert page.status_code == 200 and "班长席" in page.content.decode()
    leader = login(cc.leader)
    listing = leader.get("/floor/queues/").content.decode()
    assert "综合咨询" in listing and "周一至周日" in listing and "全天" in listing
