"""Voice API, tag 语音 — who joins a live call; the media node follows within a second:

    GET   /api/voice/linkage-targets                     → 联动号码 (110, 119, 120, 122 …)
    GET   /api/voice/sessions/{id}/parties               → 通话加入方 (supervisors, outside numbers)
    POST  /api/voice/sessions/{id}/monitor {mode}        → 201 班长监听 / 耳语 / 强插
                                                           (listen | whisper | barge); again: new mode
    POST  /api/voice/sessions/{id}/linkage {number, mode} → 201 12345–110 联动 (three_way | transfer)
    POST  /api/voice/sessions/{id}/consult {agent}       → 201 咨询转接: the caller holds, the
                                                           colleague's phone rings
    POST  /api/voice/parties/{id}/complete {summary}     → 完成转接 to the consulted colleague
    POST  /api/voice/parties/{id}/end                    → 结束监听 / 挂断联动方 / 取消咨询

强拆 of a call is ``POST /api/contact/sessions/{id}/release`` (as for text). Refusals:
403 no right, 404 not one's own or not of this platform, 409 the call is not in progress
or a linkage is already on, 422 a bad mode or number — each with a Chinese ``detail``.
"""

import datetime as dt

from ninja import Field, Router, Schema, Status

from hotline.contact.selectors import session_for
from hotline.core.errors import NotFound
from hotline.core.services import require

from . import selectors, services
from .models import CallParty

router = Router(tags=["语音"])


class LinkageTargetOut(Schema):
    number: str
    name: str


class PartyOut(Schema):
    id: int
    session: int
    kind: str = Field(..., description="supervisor 班长 | outside 外部号码 | agent 咨询的坐席")
    mode: str = Field(..., description="listen | whisper | barge | three_way | transfer | consult")
    mode_label: str
    who: str = Field(..., description="班长姓名，或联动号码与名称")
    state: str = Field(..., description="requested | ringing | connected | ended | failed")
    state_label: str
    result: str
    created_at: dt.datetime
    connected_at: dt.datetime | None
    ended_at: dt.datetime | None


class MonitorIn(Schema):
    mode: str = Field(..., description="listen 监听 | whisper 耳语 | barge 强插")


class LinkageIn(Schema):
    number: str = Field(..., description="联动号码之一，见 /api/voice/linkage-targets")
    mode: str = Field("three_way", description="three_way 三方通话 | transfer 转接")


def party_payload(party: CallParty) -> dict:
    return {
        "id": party.pk,
        "session": party.session_id,
        "kind": party.kind,
        "mode": party.mode,
        "mode_label": party.get_mode_display(),
        "who": party.label or party.target,
        "state": party.state,
        "state_label": party.get_state_display(),
        "result": party.result,
        "created_at": party.created_at,
        "connected_at": party.connected_at,
        "ended_at": party.ended_at,
    }


@router.get(
    "/linkage-targets",
    response=list[LinkageTargetOut],
    summary="联动号码",
    url_name="voice_linkage_targets",
)
def linkage_targets(request):
    require(request.user, "contact.handle")
    return [
        {"number": t.number, "name": t.name}
        for t in selectors.linkage_targets(request.user.platform)
    ]


@router.get("/sessions/{session_id}/parties", response=list[PartyOut], summary="通话加入方")
def parties(request, session_id: int):
    session = session_for(request.user, session_id)
    return [party_payload(p) for p in selectors.parties_of(session, request.user)]


@router.post(
    "/sessions/{session_id}/monitor", response={201: PartyOut}, summary="班长监听 / 耳语 / 强插"
)
def monitor(request, session_id: int, payload: MonitorIn):
    session = session_for(request.user, session_id)
    party = services.party_supervise(actor=request.user, session=session, mode=payload.mode)
    return Status(201, party_payload(party))


@router.post("/sessions/{session_id}/linkage", response={201: PartyOut}, summary="12345–110 联动")
def linkage(request, session_id: int, payload: LinkageIn):
    session = session_for(request.user, session_id)
    party = services.party_linkage(
        actor=request.user, session=session, number=payload.number, mode=payload.mode
    )
    return Status(201, party_payload(party))


class ConsultIn(Schema):
    agent: int = Field(..., description="要咨询的坐席（其坐席话机须已设置）")


class CompleteIn(Schema):
    summary: str = Field(..., description="会话小结（随会话转给对方）")


class HandedOverOut(Schema):
    session: int
    state: str
    agent: str = Field(..., description="接手的坐席")


@router.post("/sessions/{session_id}/consult", response={201: PartyOut}, summary="咨询转接")
def consult(request, session_id: int, payload: ConsultIn):
    from hotline.core.models import User

    session = session_for(request.user, session_id)
    colleague = User.objects.filter(pk=payload.agent, is_active=True).first()
    if colleague is None:
        raise NotFound("坐席不存在")
    party = services.party_consult(actor=request.user, session=session, to_agent=colleague)
    return Status(201, party_payload(party))


def _party(user, party_id: int) -> CallParty:
    party = CallParty.objects.select_related("session", "user").filter(pk=party_id).first()
    if party is None:
        raise NotFound("通话加入方不存在")
    session_for(user, party.session_id)  # 404 for a call not one's own
    return party


@router.post("/parties/{party_id}/complete", response=HandedOverOut, summary="完成转接")
def complete(request, party_id: int, payload: CompleteIn):
    party = _party(request.user, party_id)
    moved = services.party_consult_complete(
        actor=request.user, party=party, summary=payload.summary
    )
    return {"session": moved.pk, "state": moved.state, "agent": party.user.display_name}


@router.post(
    "/parties/{party_id}/end", response=PartyOut, summary="结束监听 / 挂断联动方 / 取消咨询"
)
def party_end(request, party_id: int):
    party = _party(request.user, party_id)
    return party_payload(services.party_end(actor=request.user, party=party))
