"""群组交互 API, tag 群组交互 — what the group pages call besides the socket, and what
other systems may use (bearer token or page session):

    GET    /api/groups                               → my groups
    POST   /api/groups  {name, topic}                → 201 the group (I am its 群主)
    GET    /api/groups/manage?platform=&state=&q=    → every group in scope (operator)
    GET    /api/groups/{id}                          → the group
    PATCH  /api/groups/{id}  {name, topic}           → renamed
    POST   /api/groups/{id}/close                    → closed (archived)
    GET    /api/groups/{id}/messages?after=          → messages (oldest first, ≤ 100)
    POST   /api/groups/{id}/messages  {body}         → 201 the message
    POST   /api/groups/{id}/files  (multipart "file") → 201 the image message
    GET    /api/groups/{id}/members                  → the members
    POST   /api/groups/{id}/members  {user}          → 201 the staff member invited
    DELETE /api/groups/{id}/members/{member}         → removed
    POST   /api/groups/{id}/members/{member}/mute  {muted} → 禁言 / 解除禁言
    GET    /api/groups/{id}/candidates?q=            → staff who may be invited
    POST   /api/groups/{id}/invite  {days}           → 201 a new citizens' link (the old one stops)
    DELETE /api/groups/{id}/invite                   → the link revoked

Not a member → 404; a member who may not do it (not the 群主, muted) → 403; a closed
group or a conflicting state → 409; a bad field or someone who may not be invited → 422.
"""

import datetime as dt

from django.http import HttpRequest
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile

from hotline.core.errors import Forbidden, NotFound
from hotline.core.models import User

from . import live, selectors, services
from .models import ChatGroup, GroupMember

router = Router(tags=["群组交互"])


class GroupOut(Schema):
    id: int
    name: str
    topic: str
    state: str
    state_label: str
    platform: str
    created_by: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    last_message_at: dt.datetime | None
    member_count: int
    owner: bool = Field(..., description="我是群主")
    may_manage: bool


class MemberOut(Schema):
    id: int
    kind: str = Field(..., description="staff 工作人员 | guest 游客")
    role: str = Field(..., description="owner 群主 | member 成员")
    name: str
    affiliation: str
    user: int | None
    muted: bool
    joined_at: dt.datetime


class MessageOut(Schema):
    id: int
    kind: str = Field(..., description="text | image | notice")
    body: str
    at: str
    member: int | None
    sender: str
    affiliation: str
    guest: bool
    image: str
    client_id: str


class GroupIn(Schema):
    name: str = Field(..., max_length=200)
    topic: str = Field("", max_length=2000)


class GroupPatch(Schema):
    name: str = Field(..., max_length=200)
    topic: str | None = Field(None, max_length=2000)


class MessageIn(Schema):
    body: str = Field(..., max_length=5000)
    client_id: str = Field("", max_length=60)


class InviteIn(Schema):
    user: int


class MuteIn(Schema):
    muted: bool = True


class LinkIn(Schema):
    days: int = 7


class LinkOut(Schema):
    url: str
    expires_at: dt.datetime


def _group_out(user, group: ChatGroup) -> dict:
    count = getattr(group, "member_count", None)
    if count is None:
        count = group.members.filter(removed_at__isnull=True).count()
    return {
        "id": group.pk,
        "name": group.name,
        "topic": group.topic,
        "state": group.state,
        "state_label": group.get_state_display(),
        "platform": group.platform.name,
        "created_by": group.created_by.display_name,
        "created_at": group.created_at,
        "closed_at": group.closed_at,
        "last_message_at": group.last_message_at,
        "member_count": count,
        "owner": group.created_by_id == user.pk,
        "may_manage": selectors.may_manage(user, group),
    }


def _member_out(m: GroupMember) -> dict:
    return {
        "id": m.pk,
        "kind": m.kind,
        "role": m.role,
        "name": m.display_name,
        "affiliation": m.affiliation,
        "user": m.user_id,
        "muted": m.muted,
        "joined_at": m.joined_at,
    }


def _member(group: ChatGroup, member_id: int) -> GroupMember:
    found = GroupMember.objects.select_related("group", "user__unit").filter(
        pk=member_id, group=group
    )
    if not found:
        raise NotFound("成员不存在")
    return found.first()


@router.get("/groups", response=list[GroupOut], summary="我的群组")
def group_list(request):
    return [_group_out(request.user, g) for g in selectors.my_groups(request.user)]


@router.post("/groups", response={201: GroupOut}, summary="创建群组")
def group_create(request, payload: GroupIn):
    group = services.group_create(actor=request.user, name=payload.name, topic=payload.topic)
    return Status(201, _group_out(request.user, group))


@router.get("/groups/manage", response=list[GroupOut], summary="全部群组（平台管理员）")
def group_manage_list(request, platform: int = 0, state: str = "", q: str = ""):
    if not selectors.is_operator(request.user):
        raise Forbidden("您没有“维护组织架构”的权限")
    found = selectors.operated_groups(request.user, platform_id=platform, state=state, q=q)
    return [_group_out(request.user, g) for g in found[:500]]


@router.get("/groups/{group_id}", response=GroupOut, summary="群组详情")
def group_detail(request, group_id: int):
    return _group_out(request.user, selectors.group_for(request.user, group_id))


@router.patch("/groups/{group_id}", response=GroupOut, summary="修改群组名称与话题")
def group_update(request, group_id: int, payload: GroupPatch):
    group = selectors.group_for(request.user, group_id)
    group = services.group_update(
        actor=request.user, group=group, name=payload.name, topic=payload.topic
    )
    return _group_out(request.user, group)


@router.post("/groups/{group_id}/close", response=GroupOut, summary="关闭（归档）群组")
def group_close(request, group_id: int):
    group = selectors.group_for(request.user, group_id)
    return _group_out(request.user, services.group_close(actor=request.user, group=group))


@router.get("/groups/{group_id}/messages", response=list[MessageOut], summary="群组消息")
def group_messages(request, group_id: int, after: int = 0):
    group = selectors.group_for(request.user, group_id)
    return [live.message_payload(m, guest=False) for m in selectors.messages(group, after=after)]


@router.post("/groups/{group_id}/messages", response={201: MessageOut}, summary="发言")
def group_post(request, group_id: int, payload: MessageIn):
    group = selectors.group_for(request.user, group_id)
    message = services.staff_post(
        actor=request.user, group=group, body=payload.body, client_id=payload.client_id
    )
    return Status(201, live.message_payload(message, guest=False))


@router.post("/groups/{group_id}/files", response={201: MessageOut}, summary="发送图片")
def group_files(request: HttpRequest, group_id: int, file: File[UploadedFile]):
    group = selectors.group_for(request.user, group_id)
    message = services.staff_post(actor=request.user, group=group, attachment=file)
    return Status(201, live.message_payload(message, guest=False))


@router.get("/groups/{group_id}/members", response=list[MemberOut], summary="群组成员")
def group_members(request, group_id: int):
    group = selectors.group_for(request.user, group_id)
    return [_member_out(m) for m in selectors.members(group)]


@router.post("/groups/{group_id}/members", response={201: MemberOut}, summary="邀请工作人员")
def group_invite(request, group_id: int, payload: InviteIn):
    group = selectors.group_for(request.user, group_id)
    user = User.objects.select_related("unit").filter(pk=payload.user).first()
    if user is None:
        raise NotFound("用户不存在")
    member = services.member_invite(actor=request.user, group=group, user=user)
    return Status(201, _member_out(member))


@router.delete("/groups/{group_id}/members/{member_id}", response=MemberOut, summary="移出成员")
def group_remove(request, group_id: int, member_id: int):
    group = selectors.group_for(request.user, group_id)
    member = services.member_remove(actor=request.user, member=_member(group, member_id))
    return _member_out(member)


@router.post(
    "/groups/{group_id}/members/{member_id}/mute", response=MemberOut, summary="禁言或解除禁言"
)
def group_mute(request, group_id: int, member_id: int, payload: MuteIn):
    group = selectors.group_for(request.user, group_id)
    member = services.member_mute(
        actor=request.user, member=_member(group, member_id), muted=payload.muted
    )
    return _member_out(member)


@router.get("/groups/{group_id}/candidates", summary="可邀请的工作人员")
def group_candidates(request, group_id: int, q: str = ""):
    group = selectors.group_for(request.user, group_id)
    if not selectors.may_manage(request.user, group):
        raise Forbidden("只有群主或平台管理员可以邀请成员")
    return [
        {
            "id": u.pk,
            "name": u.display_name,
            "unit": u.unit.short_name or u.unit.name if u.unit_id else "热线中心",
        }
        for u in selectors.invite_candidates(group, q=q[:40])
    ]


@router.post("/groups/{group_id}/invite", response={201: LinkOut}, summary="生成游客邀请链接")
def group_link(request, group_id: int, payload: LinkIn):
    from .views import invite_link

    group = selectors.group_for(request.user, group_id)
    invite = services.invite_issue(actor=request.user, group=group, days=payload.days)
    return Status(201, {"url": invite_link(request, invite), "expires_at": invite.expires_at})


@router.delete("/groups/{group_id}/invite", summary="作废游客邀请链接")
def group_unlink(request, group_id: int):
    group = selectors.group_for(request.user, group_id)
    return {"revoked": services.invite_revoke(actor=request.user, group=group)}
