"""Supervisor seat API (班长席), tag 班长席 — what the /floor/ page calls; live changes arrive
on the ``/ws/desk/`` socket after ``{"type": "watch_floor"}`` (``consumers``):

    GET   /api/contact/floor                          → agents, queues, totals, teams
    POST  /api/contact/agents/{id}/state {event}      → 强制示闲/示忙/签出 (ready|not_ready|sign_out)
    POST  /api/contact/sessions/{id}/barge            → 强插: join the session, then write with
                                                        POST /api/contact/sessions/{id}/messages
    POST  /api/contact/sessions/{id}/leave            → 退出强插
    POST  /api/contact/sessions/{id}/release          → 强拆: end the session (reason released)
    POST  /api/contact/sessions/{id}/takeover         → 接管: transfer the session to oneself
    GET   /api/contact/announcements                  → the announcements in force for the caller
    POST  /api/contact/announcements {…}              → 201 发布公告
    GET   /api/contact/announcements/published        → the platform's announcements (supervisor)
    POST  /api/contact/announcements/{id}/withdraw    → 撤回公告

Refusals as everywhere: 403 no right, 404 not of this platform, 409 the state does not
allow it (e.g. 签出 with a session open), 422 a bad field — each with a Chinese ``detail``.
"""

import datetime as dt

from django.utils import timezone
from ninja import Field, Router, Schema, Status

from hotline.core.errors import NotFound, Unprocessable
from hotline.core.models import Team, User
from hotline.core.services import require

from . import selectors, services
from .lifecycle import agent_state_label
from .models import Announcement, Message, Session

router = Router(tags=["班长席"])


# --- schemas ----------------------------------------------------------------------------------


class FloorPerson(Schema):
    id: int
    name: str


class FloorSession(Schema):
    id: int
    ref: str
    channel: str
    channel_label: str
    state: str
    state_label: str
    citizen: str = Field(..., description="来电人姓名，或脱敏号码，或“网页在线访客”")
    queue: str
    emergency: bool
    offered_at: dt.datetime | None
    answered_at: dt.datetime | None
    supervisors: list[FloorPerson] = Field(..., description="正在强插该会话的班长")


class FloorAgent(Schema):
    id: int
    name: str
    employee_no: str
    team_id: int | None
    team: str
    presence: str
    activity: str
    reason: str
    state: str = Field(..., description="签出、示闲、小休、班长强制示忙、会话中、整理 …")
    since: dt.datetime | None
    active_text: int
    active_voice: int
    text_capacity: int
    handles_voice: bool
    handles_text: bool
    answered_today: int
    sessions: list[FloorSession]


class FloorTeam(Schema):
    id: int
    name: str


class DeadLetter(Schema):
    id: int
    session: int
    ref: str
    channel: str
    channel_label: str
    address: str
    body: str
    sender: str
    at: dt.datetime
    attempts: int
    error: str


class FloorOut(Schema):
    now: dt.datetime
    agents: list[FloorAgent]
    queues: list[dict] = Field(..., description="各队列实时数据（selectors.queue_figures）")
    totals: dict
    teams: list[FloorTeam]
    dead_letters: list[DeadLetter] = Field(..., description="投递失败（放弃重试）的消息")
    voice_alarms: list[str] = Field(..., description="语音告警：媒体节点失联、中继线路异常")


class RedeliveredOut(Schema):
    id: int
    delivery: str


class ForceIn(Schema):
    event: str = Field(
        ..., description="ready（强制示闲）| not_ready（强制示忙）| sign_out（强退）"
    )


class ForcedOut(Schema):
    id: int
    presence: str
    activity: str
    reason: str
    state: str
    since: dt.datetime


class SessionStateOut(Schema):
    id: int
    state: str
    state_label: str
    agent: int | None
    end_reason: str


class BargeOut(Schema):
    session: int
    joined_at: dt.datetime


class AnnouncementOut(Schema):
    """The workbench's contract: do not change these fields."""

    id: int
    title: str
    body: str
    level: str = Field(..., description="info | warning")
    until: str = Field(..., description="有效期至（ISO 8601）")
    sender: str


class AnnouncementsOut(Schema):
    items: list[AnnouncementOut]


class AnnouncementIn(Schema):
    title: str = Field(..., max_length=100)
    body: str = Field(..., max_length=2000)
    level: str = "info"
    audience: str = Field("all", description="all | team | agent")
    team: int | None = None
    agent: int | None = None
    starts_at: dt.datetime | None = Field(None, description="生效时间，留空为立即生效")
    ends_at: dt.datetime


class PublishedOut(AnnouncementOut):
    audience: str
    audience_label: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_at: dt.datetime
    withdrawn_at: dt.datetime | None
    status: str = Field(..., description="生效中、未生效、已过期、已撤回")


# --- the floor ----------------------------------------------------------------------------------


@router.get("/floor", response=FloorOut, summary="班长席：坐席与队列实时状态")
def floor(request):
    require(request.user, "contact.supervise")
    return selectors.floor_overview(request.user)


@router.post(
    "/messages/{message_id}/redeliver", response=RedeliveredOut, summary="重新投递失败的消息"
)
def redeliver(request, message_id: int):
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        raise NotFound("消息不存在")
    message = services.message_redeliver(actor=request.user, message=message)
    return {"id": message.pk, "delivery": message.delivery}


def _agent_of(user, agent_id: int) -> User:
    agent = User.objects.filter(pk=agent_id, platform_id=user.platform_id).first()
    if agent is None:
        raise NotFound("坐席不存在")
    return agent


@router.post("/agents/{agent_id}/state", response=ForcedOut, summary="强制示闲、示忙、签出")
def force_state(request, agent_id: int, payload: ForceIn):
    user = request.user
    require(user, "contact.supervise")
    agent = _agent_of(user, agent_id)
    if agent.pk == user.pk:
        raise Unprocessable("请在坐席工作台设置自己的状态", field="agent")
    verbs = {
        "ready": services.agent_ready,
        "not_ready": services.agent_not_ready,
        "sign_out": services.agent_sign_out,
    }
    if payload.event not in verbs:
        raise Unprocessable("操作须为：ready、not_ready、sign_out", field="event")
    p = verbs[payload.event](actor=user, agent=agent)
    return {
        "id": agent.pk,
        "presence": p.presence,
        "activity": p.activity,
        "reason": p.reason,
        "state": agent_state_label(p.presence, p.activity, p.reason),
        "since": p.since,
    }


# --- sessions ------------------------------------------------------------------------------------


def _session(user, session_id: int) -> Session:
    require(user, "contact.supervise")
    session = (
        Session.objects.select_related("agent")
        .filter(pk=session_id, platform_id=user.platform_id)
        .first()
    )
    if session is None:
        raise NotFound("会话不存在")
    return session


def _state(session: Session) -> dict:
    return {
        "id": session.pk,
        "state": session.state,
        "state_label": session.state_label,
        "agent": session.agent_id,
        "end_reason": session.end_reason,
    }


@router.post("/sessions/{session_id}/barge", response=BargeOut, summary="强插")
def barge(request, session_id: int):
    joined = services.session_barge(actor=request.user, session=_session(request.user, session_id))
    return {"session": joined.session_id, "joined_at": joined.joined_at}


@router.post("/sessions/{session_id}/leave", response=SessionStateOut, summary="退出强插")
def leave(request, session_id: int):
    session = _session(request.user, session_id)
    services.session_leave(actor=request.user, session=session)
    return _state(session)


@router.post("/sessions/{session_id}/release", response=SessionStateOut, summary="强拆")
def release(request, session_id: int):
    session = _session(request.user, session_id)
    return _state(services.session_release(actor=request.user, session=session))


@router.post("/sessions/{session_id}/takeover", response=SessionStateOut, summary="接管")
def takeover(request, session_id: int):
    session = _session(request.user, session_id)
    return _state(services.session_takeover(actor=request.user, session=session))


# --- announcements ------------------------------------------------------------------------------


@router.get("/announcements", response=AnnouncementsOut, summary="我的公告（生效中）")
def announcements(request):
    return {
        "items": [
            selectors.announcement_payload(a)
            for a in selectors.announcements_in_force(request.user)
        ]
    }


def _published(a: Announcement, now) -> dict:
    audience = a.get_audience_display()
    if a.audience == Announcement.Audience.TEAM and a.team_id:
        audience = f"班组：{a.team.name}"
    elif a.audience == Announcement.Audience.AGENT and a.agent_id:
        audience = f"坐席：{a.agent.display_name or a.agent.username}"
    return {
        **selectors.announcement_payload(a),
        "audience": a.audience,
        "audience_label": audience,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "created_at": a.created_at,
        "withdrawn_at": a.withdrawn_at,
        "status": a.status(now),
    }


@router.get("/announcements/published", response=list[PublishedOut], summary="本平台公告（班长）")
def announcements_published(request):
    require(request.user, "contact.supervise")
    now = timezone.now()
    return [_published(a, now) for a in selectors.announcements_published(request.user, now)]


@router.post("/announcements", response={201: PublishedOut}, summary="发布公告")
def announcement_publish(request, payload: AnnouncementIn):
    user = request.user
    require(user, "contact.supervise")
    team = agent = None
    if payload.audience == Announcement.Audience.TEAM and payload.team is not None:
        team = Team.objects.filter(pk=payload.team, platform_id=user.platform_id).first()
        if team is None:
            raise Unprocessable("请选择本平台的班组", field="team")
    if payload.audience == Announcement.Audience.AGENT and payload.agent is not None:
        agent = User.objects.filter(pk=payload.agent, platform_id=user.platform_id).first()
        if agent is None:
            raise Unprocessable("请选择本平台的坐席", field="agent")
    made = services.announcement_publish(
        actor=user,
        title=payload.title,
        body=payload.body,
        level=payload.level,
        audience=payload.audience,
        team=team,
        agent=agent,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
    )
    return Status(201, _published(made, timezone.now()))


@router.post("/announcements/{announcement_id}/withdraw", response=PublishedOut, summary="撤回公告")
def announcement_withdraw(request, announcement_id: int):
    require(request.user, "contact.supervise")
    found = Announcement.objects.filter(
        pk=announcement_id, platform_id=request.user.platform_id
    ).first()
    if found is None:
        raise NotFound("公告不存在")
    withdrawn = services.announcement_withdraw(actor=request.user, announcement=found)
    return _published(withdrawn, timezone.now())
