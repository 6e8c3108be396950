"""Agent workbench API (坐席工作台), tag 坐席工作台 — what the workbench page and the load
simulator call; live changes arrive on the ``/ws/desk/`` socket (``consumers``):

    GET   /api/contact/desk                          → state, settings, sessions, queues, today
    POST  /api/contact/agent/state  {event, reason}  → the agent's state (sign_in, sign_in_busy,
                                                        ready, not_ready, sign_out)
    PATCH /api/contact/agent/settings  {…}           → the agent's settings (状态设置)
    GET   /api/contact/sessions/{id}                 → the session with messages, legs, citizen
    GET   /api/contact/sessions/{id}/messages?after= → messages after an id
    POST  /api/contact/sessions/{id}/messages {body} → 201 the message (text)
    POST  /api/contact/sessions/{id}/files  (multipart "file") → 201 the message (image/file)
    POST  /api/contact/sessions/{id}/accept | end    → the session
    POST  /api/contact/sessions/{id}/close  {summary}            → the session (会话小结)
    POST  /api/contact/sessions/{id}/transfer {to_queue | to_agent | to_leader, summary, note}
    GET   /api/contact/transfer-targets              → queues and signed-in agents
    GET   /api/contact/citizens/{id}                 → profile, identities, history (screen pop)
    POST  /api/contact/sessions/{id}/rating-request  → the session (邀请评价; 409 once rated)
    GET   /api/contact/sessions/{id}/invite-candidates?q= → staff and unit staff to invite
    POST  /api/contact/sessions/{id}/participants {user} → 201 the participant (多方会话)
    DELETE /api/contact/sessions/{id}/participants/{user} → leave (oneself) or remove (the agent)
    GET   /api/contact/assists                       → the chats the caller is invited into

A verb the state does not allow → 409, a bad field → 422, someone else's session → 404.
"""

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile

from hotline.core.errors import NotFound, Unprocessable
from hotline.core.masking import mask_phone
from hotline.core.models import User
from hotline.core.services import require
from hotline.telephony import selectors as voice
from hotline.telephony.api import PartyOut, party_payload

from . import live, selectors, services
from .lifecycle import NOT_READY_REASONS, agent_state_label
from .models import (
    FIRST_RESPONSE_TARGET_SECONDS,
    PHONE_CHANNELS,
    PHONE_IDENTITIES,
    Message,
    Queue,
)

router = Router(tags=["坐席工作台"])


# --- schemas ----------------------------------------------------------------------------------


class PresenceOut(Schema):
    presence: str
    activity: str
    reason: str
    state: str = Field(..., description="看得见的状态：签出、示闲、小休、会话中、整理 …")
    since: dt.datetime
    active_text: int
    active_voice: int
    text_capacity: int
    handles_voice: bool
    handles_text: bool
    wrap_up_enabled: bool
    wrap_up_seconds: int
    after_wrap_up: str
    auto_accept: bool
    phone_uri: str


def _presence(p) -> dict:
    return {
        **{f: getattr(p, f) for f in PresenceOut.model_fields if f != "state"},
        "state": agent_state_label(p.presence, p.activity, p.reason),
    }


class SessionBrief(Schema):
    id: int
    ref: str
    channel: str
    channel_label: str
    state: str
    state_label: str
    address: str
    subject: str
    citizen: int | None
    citizen_name: str
    queue: str
    emergency: bool
    offered_at: dt.datetime | None
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    last_inbound_at: dt.datetime | None
    created_at: dt.datetime
    first_response_at: dt.datetime | None
    response_target: int | None  # seconds (GB/T 33358: text 180, mail 86,400)
    held_at: dt.datetime | None = Field(None, description="保持开始（语音通话保持中）")


def _shown_address(channel_or_kind: str, value: str, phone_like: frozenset) -> str:
    """Phone numbers are masked here as everywhere (138****5678); revealing one is its
    own audited act (``phone.reveal``), not a side effect of opening a chat."""
    return mask_phone(value) if channel_or_kind in phone_like else value


def _brief(s) -> dict:
    return {
        "id": s.pk,
        "ref": s.ref,
        "channel": s.channel,
        "channel_label": s.get_channel_display(),
        "state": s.state,
        "state_label": s.state_label,
        "address": _shown_address(s.channel, s.address, PHONE_CHANNELS),
        "subject": s.subject,
        "citizen": s.citizen_id,
        "citizen_name": str(s.citizen) if s.citizen_id else "",
        "queue": s.queue.name if s.queue_id else "",
        "emergency": s.emergency,
        "offered_at": s.offered_at,
        "answered_at": s.answered_at,
        "ended_at": s.ended_at,
        "last_inbound_at": s.last_inbound_at,
        "created_at": s.created_at,
        "first_response_at": s.first_response_at,
        "response_target": FIRST_RESPONSE_TARGET_SECONDS.get(s.channel),
        "held_at": s.held_at,
    }


class MessageOut(Schema):
    id: int
    session: int
    direction: str
    kind: str
    body: str
    at: str
    sender: str
    attachment: str
    attachment_name: str
    delivery: str


class LegOut(Schema):
    agent: str
    note: str = Field("", description="转接备注（转出坐席留给接手坐席）")
    offered_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    end: str
    summary: str


class RecordingOut(Schema):
    id: int
    url: str = Field(..., description="播放地址（WAV；加 ?download=1 下载），调听留痕")
    agent: str
    started_at: dt.datetime
    seconds: float


class ParticipantOut(Schema):
    user: int
    name: str = Field(..., description="姓名（工作人员之间可见）")
    shown_as: str = Field(..., description="来电人看到的称呼：工号或单位，不含姓名")
    unit: str
    role: str = Field(..., description="supervisor 班长强插 | invited 受邀协助")
    role_label: str
    invited_by: str
    joined_at: dt.datetime
    left_at: dt.datetime | None
    left_reason: str
    satisfaction: str = Field(..., description="本次会话的满意度，全体参与人共享")


class SessionOut(SessionBrief):
    summary: str
    satisfaction: str
    rating_requested_at: dt.datetime | None
    my_role: str = Field(
        ..., description="查看者在会话中的身份：agent | invited | supervisor | viewer"
    )
    participants: list[ParticipantOut]
    messages: list[MessageOut]
    legs: list[LegOut]
    recordings: list[RecordingOut]
    parties: list[PartyOut] = Field(..., description="通话加入方：班长监听、12345–110 联动")


class DeskOut(Schema):
    now: dt.datetime = Field(..., description="服务器时间（页面计时以此校准）")
    presence: PresenceOut
    sessions: list[SessionBrief]
    queues: list[dict]
    today: dict
    not_ready_reasons: dict[str, str]


class StateIn(Schema):
    event: str = Field(..., description="sign_in | sign_in_busy | ready | not_ready | sign_out")
    reason: str = Field("busy", description="示忙原因：busy break meal meeting training")


class SettingsIn(Schema):
    text_capacity: int | None = None
    wrap_up_enabled: bool | None = None
    wrap_up_seconds: int | None = None
    after_wrap_up: str | None = None
    auto_accept: bool | None = None
    handles_voice: bool | None = None
    handles_text: bool | None = None
    phone_uri: str | None = Field(None, max_length=200)


class MessageIn(Schema):
    body: str = Field(..., max_length=5000)


class CloseIn(Schema):
    summary: str = Field(..., max_length=2000)


class TransferIn(Schema):
    to_queue: int | None = None
    to_agent: int | None = None
    to_leader: bool = False
    summary: str = Field(..., max_length=2000)
    note: str = Field("", max_length=200)


# --- the agent ------------------------------------------------------------------------------


@router.get("/desk", response=DeskOut, summary="工作台概览")
def desk(request):
    require(request.user, "contact.handle")
    overview = selectors.desk_overview(request.user)
    return {
        "now": timezone.now(),
        "presence": _presence(overview["presence"]),
        "sessions": [_brief(s) for s in overview["sessions"]],
        "queues": overview["queues"],
        "today": overview["today"],
        "not_ready_reasons": NOT_READY_REASONS,
    }


@router.post("/agent/state", response=PresenceOut, summary="签入、示闲、示忙、签出")
def agent_state(request, payload: StateIn):
    user = request.user
    verbs = {
        "sign_in": lambda: services.agent_sign_in(actor=user),
        "sign_in_busy": lambda: services.agent_sign_in(actor=user, ready=False),
        "ready": lambda: services.agent_ready(actor=user),
        "not_ready": lambda: services.agent_not_ready(actor=user, reason=payload.reason),
        "sign_out": lambda: services.agent_sign_out(actor=user),
    }
    if payload.event not in verbs:
        raise Unprocessable(
            "操作须为：sign_in、sign_in_busy、ready、not_ready、sign_out", field="event"
        )
    return _presence(verbs[payload.event]())


@router.patch("/agent/settings", response=PresenceOut, summary="状态设置")
def agent_settings(request, payload: SettingsIn):
    presence = services.agent_settings_update(
        actor=request.user, **payload.model_dump(exclude_unset=True)
    )
    return _presence(presence)


# --- sessions -------------------------------------------------------------------------------


def _my_role(session, user) -> str:
    if user is None:
        return "viewer"
    if session.agent_id == user.pk:
        return "agent"
    if selectors.invited_in(user, session) is not None:
        return "invited"
    if selectors.barged_in(user, session):
        return "supervisor"
    return "viewer"


def _session_out(session, user=None) -> dict:
    history = selectors.session_history(session)
    return {
        **_brief(session),
        "summary": session.summary,
        "satisfaction": session.satisfaction,
        "rating_requested_at": session.rating_requested_at,
        "my_role": _my_role(session, user),
        "participants": selectors.session_participants(session),
        "messages": [live.message_payload(m) for m in history["messages"]],
        "legs": [
            {
                "agent": leg.agent.display_name,
                "offered_at": leg.offered_at,
                "answered_at": leg.answered_at,
                "ended_at": leg.ended_at,
                "end": leg.get_end_display() if leg.end else "",
                "summary": leg.summary,
                "note": leg.note,
            }
            for leg in history["legs"]
        ],
        "recordings": [
            {
                "id": r.pk,
                "url": reverse("voice_recording", args=[r.pk]),
                "agent": r.agent.display_name if r.agent else "",
                "started_at": r.started_at,
                "seconds": r.seconds,
            }
            for r in history["recordings"]
        ],
        "parties": [party_payload(p) for p in voice.parties_of(session, user)],
    }


@router.get("/sessions/{session_id}", response=SessionOut, summary="会话详情")
def session_detail(request, session_id: int):
    return _session_out(selectors.session_for(request.user, session_id), request.user)


@router.get("/sessions/{session_id}/messages", response=list[MessageOut], summary="会话消息")
def session_messages(request, session_id: int, after: int = 0):
    session = selectors.session_for(request.user, session_id)
    return [live.message_payload(m) for m in selectors.session_messages(session, after=after)]


@router.post("/sessions/{session_id}/messages", response={201: MessageOut}, summary="发送文字消息")
def session_send(request, session_id: int, payload: MessageIn):
    session = selectors.session_for(request.user, session_id)
    message = services.message_send(actor=request.user, session=session, body=payload.body)
    return Status(201, live.message_payload(message))


@router.post("/sessions/{session_id}/files", response={201: MessageOut}, summary="发送图片或文件")
def session_send_file(request, session_id: int, file: File[UploadedFile]):
    session = selectors.session_for(request.user, session_id)
    name = (file.name or "").lower()
    kind = Message.Kind.IMAGE if name.endswith((".jpg", ".jpeg", ".png")) else Message.Kind.FILE
    message = services.message_send(
        actor=request.user, session=session, kind=kind, body="", attachment=file
    )
    return Status(201, live.message_payload(message))


@router.post("/sessions/{session_id}/accept", response=SessionOut, summary="接起会话")
def session_accept(request, session_id: int):
    session = selectors.session_for(request.user, session_id)
    return _session_out(services.session_accept(actor=request.user, session=session), request.user)


@router.post("/sessions/{session_id}/end", response=SessionOut, summary="结束会话")
def session_end(request, session_id: int):
    session = selectors.session_for(request.user, session_id)
    return _session_out(services.session_end(actor=request.user, session=session), request.user)


class HoldIn(Schema):
    on: bool = Field(..., description="true 保持，false 恢复通话")


@router.post("/sessions/{session_id}/hold", response=SessionOut, summary="通话保持 / 恢复")
def session_hold(request, session_id: int, payload: HoldIn):
    session = selectors.session_for(request.user, session_id)
    held = services.session_hold(actor=request.user, session=session, on=payload.on)
    return _session_out(held, request.user)


@router.post("/sessions/{session_id}/close", response=SessionOut, summary="填写会话小结并关闭")
def session_close(request, session_id: int, payload: CloseIn):
    session = selectors.session_for(request.user, session_id)
    return _session_out(
        services.session_close(actor=request.user, session=session, summary=payload.summary),
        request.user,
    )


@router.post("/sessions/{session_id}/transfer", response=SessionOut, summary="转接或升级")
def session_transfer(request, session_id: int, payload: TransferIn):
    session = selectors.session_for(request.user, session_id)
    to_queue = to_agent = None
    if payload.to_queue is not None:
        to_queue = Queue.objects.filter(
            pk=payload.to_queue, platform_id=session.platform_id
        ).first()
        if to_queue is None:
            raise NotFound("队列不存在")
    if payload.to_agent is not None:
        to_agent = User.objects.filter(pk=payload.to_agent, platform_id=session.platform_id).first()
        if to_agent is None:
            raise NotFound("坐席不存在")
    moved = services.session_transfer(
        actor=request.user,
        session=session,
        summary=payload.summary,
        to_queue=to_queue,
        to_agent=to_agent,
        to_leader=payload.to_leader,
        note=payload.note,
    )
    return _session_out(moved, request.user)


@router.get("/transfer-targets", summary="可转接的队列与坐席")
def transfer_targets(request):
    require(request.user, "contact.handle")
    targets = selectors.transfer_targets(request.user)
    return {
        "queues": [{"id": q.pk, "name": q.name} for q in targets["queues"]],
        "agents": [
            {
                "id": p.agent_id,
                "name": p.agent.display_name,
                "state": agent_state_label(p.presence, p.activity, p.reason),
                "has_room": p.active_voice == 0 and p.active_text < p.text_capacity,
            }
            for p in targets["agents"]
        ],
    }


@router.get("/citizens/{profile_id}", summary="来电人档案与历史（弹屏）")
def citizen(request, profile_id: int):
    require(request.user, "contact.handle")
    profile = selectors.citizen_for(request.user, profile_id)
    history = selectors.citizen_history(profile, viewer=request.user)
    return {
        "id": profile.pk,
        "name": profile.name,
        "gender": profile.gender,
        "address": profile.address,
        "note": profile.note,
        "is_vip": profile.is_vip,
        "identities": [
            {
                "kind": i.kind,
                "kind_label": i.get_kind_display(),
                "value": _shown_address(i.kind, i.value, PHONE_IDENTITIES),
            }
            for i in profile.identities.all()
        ],
        "sessions": [_brief(s) for s in history["sessions"][:20]],
        "orders": [
            {
                "number": o.number,
                "title": o.title,
                "state": o.state,
                "state_label": o.state_label,
                "created_at": o.created_at,
                "in_transit": o in history["in_transit"],
            }
            for o in history["orders"]
        ],
    }


# --- 满意度调查 and 多方会话 ---------------------------------------------------------------------


class InviteIn(Schema):
    user: int = Field(..., description="受邀人员的用户编号（见 invite-candidates）")


class CandidateOut(Schema):
    id: int
    name: str
    employee_no: str
    kind: str = Field(..., description="staff 热线工作人员 | unit 承办单位人员")
    kind_label: str
    unit: str
    team: str
    state: str = Field(..., description="坐席当前状态（签入过的工作人员）")


class AssistOut(Schema):
    sessions: list[SessionBrief]
    ratings: dict = Field(..., description="我参与会话的满意度（按五个等级计数与满意率）")


@router.post("/sessions/{session_id}/rating-request", response=SessionOut, summary="邀请评价")
def session_request_rating(request, session_id: int):
    session = selectors.session_for(request.user, session_id)
    updated = services.session_request_rating(actor=request.user, session=session)
    return _session_out(updated, request.user)


@router.get(
    "/sessions/{session_id}/invite-candidates",
    response=list[CandidateOut],
    summary="查找可邀请的人员（多方会话）",
)
def invite_candidates(request, session_id: int, q: str = ""):
    require(request.user, "contact.handle")
    session = selectors.session_for(request.user, session_id)
    return selectors.invite_candidates(request.user, session, q)


@router.post(
    "/sessions/{session_id}/participants",
    response={201: ParticipantOut},
    summary="邀请人员加入会话（多方会话）",
)
def session_invite(request, session_id: int, payload: InviteIn):
    session = selectors.session_for(request.user, session_id)
    invitee = User.objects.filter(pk=payload.user, is_active=True).first()
    if invitee is None:
        raise NotFound("受邀人员不存在")
    joined = services.session_invite(actor=request.user, session=session, invitee=invitee)
    shown = [p for p in selectors.session_participants(session) if p["user"] == joined.user_id]
    return Status(201, shown[-1])


@router.delete(
    "/sessions/{session_id}/participants/{user_id}",
    response=list[ParticipantOut],
    summary="退出会话（本人）或移出受邀人员（坐席）",
)
def session_participant_remove(request, session_id: int, user_id: int):
    session = selectors.session_for(request.user, session_id)
    user = User.objects.filter(pk=user_id, platform_id=session.platform_id).first()
    if user is None:
        raise NotFound("参与人不存在")
    services.session_participant_remove(actor=request.user, session=session, user=user)
    return selectors.session_participants(session)


@router.get("/assists", response=AssistOut, summary="会话协助：我受邀参与的会话")
def assists(request):
    if not selectors.may_assist(request.user):
        raise NotFound("您不能参与会话协助")
    return {
        "sessions": [_brief(s) for s in selectors.assist_sessions(request.user)],
        "ratings": selectors.participant_ratings(request.user),
    }
