"""Every write of 群组交互 (group interaction).

A person's act on a group — create, rename, close, invite, issue or revoke a link, a
citizen joining, remove, mute — is one transaction with its audit entry and, once
committed, a live push (:mod:`.live`). Chat messages are not audited (as the contact
center's are not); a notice in the chat tells the members what changed.

Who may do what:

* creating a group: agents and team leaders (``contact.handle``), on their platform;
* managing a group (rename, close, invite, links, remove, mute): its creator (群主) and the
  global operator (``org.manage`` over the group's platform);
* posting: an active member who is not muted, while the group is open.
"""

import datetime as dt
import secrets

from django.db import transaction
from django.utils import timezone

from hotline.core import audit
from hotline.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from hotline.core.models import User

from . import live, selectors
from .models import ChatGroup, GroupInvite, GroupMember, GroupMessage

NAME_LONGEST, TOPIC_LONGEST, NICKNAME_LONGEST = 40, 500, 20
BODY_LONGEST = 2000
MAX_MEMBERS = 200
INVITE_DAYS = (1, 7, 30)  # how long a citizens' link may live
IMAGE_TYPES = ("jpg", "jpeg", "png")


# --- guards ---------------------------------------------------------------------------------


def _require_manager(actor: User, group: ChatGroup) -> None:
    if not selectors.may_manage(actor, group):
        if selectors.member_of(actor, group) is None:
            raise NotFound("群组不存在或您不是群组成员")
        raise Forbidden("只有群主或平台管理员可以管理此群组")


def _require_open(group: ChatGroup) -> None:
    if not group.is_open:
        raise Conflict("群组已关闭，不能再进行此操作")


def _locked(group: ChatGroup) -> ChatGroup:
    return ChatGroup.objects.select_for_update().get(pk=group.pk)


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise Unprocessable("请填写群组名称", field="name")
    if len(name) > NAME_LONGEST:
        raise Unprocessable(f"群组名称不能超过 {NAME_LONGEST} 个字", field="name")
    return name


def _clean_topic(topic: str) -> str:
    topic = (topic or "").strip()
    if len(topic) > TOPIC_LONGEST:
        raise Unprocessable(f"群组话题不能超过 {TOPIC_LONGEST} 个字", field="topic")
    return topic


def _notice(group: ChatGroup, member: GroupMember, text: str, now) -> GroupMessage:
    """A line in the chat about a member ("<name>加入了群组"); pages prefix the name."""
    message = GroupMessage.objects.create(
        group=group, member=member, kind=GroupMessage.Kind.NOTICE, body=text, at=now
    )
    live.message_created(message)
    return message


# --- groups ---------------------------------------------------------------------------------------


def group_create(*, actor: User, name: str, topic: str = "", now=None) -> ChatGroup:
    """创建群组: on the creator's platform; the creator is its first member (群主)."""
    now = now or timezone.now()
    if not selectors.may_create(actor):
        raise Forbidden("只有话务员、值班长可以创建群组")
    name, topic = _clean_name(name), _clean_topic(topic)
    with transaction.atomic():
        group = ChatGroup.objects.create(
            platform_id=actor.platform_id, name=name, topic=topic, created_by=actor, created_at=now
        )
        GroupMember.objects.create(
            group=group,
            kind=GroupMember.Kind.STAFF,
            role=GroupMember.Role.OWNER,
            user=actor,
            joined_at=now,
        )
        audit.record("group.create", group, actor=actor, after=audit.snapshot(group))
    return group


def group_update(*, actor: User, group: ChatGroup, name: str, topic: str | None = None):
    """修改群组名称与话题."""
    _require_manager(actor, group)
    name = _clean_name(name)
    with transaction.atomic():
        group = _locked(group)
        _require_open(group)
        before = audit.snapshot(group, ["name", "topic"])
        group.name = name
        if topic is not None:
            group.topic = _clean_topic(topic)
        group.save(update_fields=["name", "topic"])
        after = audit.snapshot(group, ["name", "topic"])
        if after != before:
            audit.record("group.update", group, actor=actor, before=before, after=after)
            live.group_changed(group)
    return group


def group_close(*, actor: User, group: ChatGroup, now=None) -> ChatGroup:
    """关闭（归档）群组: no more messages or joins; the history stays readable."""
    now = now or timezone.now()
    _require_manager(actor, group)
    with transaction.atomic():
        group = _locked(group)
        _require_open(group)
        before = audit.snapshot(group, ["state", "closed_at"])
        group.state, group.closed_at, group.closed_by = ChatGroup.State.CLOSED, now, actor
        group.save(update_fields=["state", "closed_at", "closed_by"])
        group.invites.filter(revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
        audit.record(
            "group.close",
            group,
            actor=actor,
            before=before,
            after=audit.snapshot(group, ["state", "closed_at"]),
        )
        live.group_changed(group)
    return group


# --- members ---------------------------------------------------------------------------------------


def _room_for_one_more(group: ChatGroup) -> None:
    if group.members.filter(removed_at__isnull=True).count() >= MAX_MEMBERS:
        raise Conflict(f"群组成员已满（最多 {MAX_MEMBERS} 人）")


def member_invite(*, actor: User, group: ChatGroup, user: User, now=None) -> GroupMember:
    """邀请工作人员: an agent or leader of the group's platform, or the staff of one of its
    handling units. Someone removed before may be invited back."""
    now = now or timezone.now()
    _require_manager(actor, group)
    if not selectors.may_take_part(user):
        raise Unprocessable(
            f"{user.display_name}不能加入业务群组（账号停用或无业务角色）", field="user"
        )
    if user.platform_id != group.platform_id or (
        user.unit_id and user.unit.platform_id != group.platform_id
    ):
        raise Unprocessable(
            f"{user.display_name}不属于{group.platform.name}，只能邀请本平台的工作人员",
            field="user",
        )
    with transaction.atomic():
        group = _locked(group)
        _require_open(group)
        member = GroupMember.objects.filter(group=group, user=user).first()
        if member is not None and member.is_active:
            raise Conflict(f"{user.display_name}已在群组中")
        _room_for_one_more(group)
        if member is None:
            member = GroupMember.objects.create(
                group=group, kind=GroupMember.Kind.STAFF, user=user, invited_by=actor, joined_at=now
            )
        else:  # invited back: the same seat, a fresh start
            member.removed_at = member.removed_by = None
            member.muted, member.muted_at = False, None
            member.invited_by, member.joined_at = actor, now
            member.save()
        audit.record(
            "group.member_invite",
            group,
            actor=actor,
            detail={"member": member.pk, "user": user.pk, "name": user.display_name},
        )
        _notice(group, member, "加入了群组", now)
        live.member_changed(member, "joined")
    return member


def member_remove(*, actor: User, member: GroupMember, now=None) -> GroupMember:
    """移出成员 (the creator cannot be removed from the group)."""
    now = now or timezone.now()
    group = member.group
    _require_manager(actor, group)
    if member.role == GroupMember.Role.OWNER:
        raise Conflict("不能移出群主")
    with transaction.atomic():
        member = GroupMember.objects.select_for_update().get(pk=member.pk)
        if not member.is_active:
            raise Conflict(f"{member.display_name}已不在群组中")
        member.removed_at, member.removed_by = now, actor
        member.save(update_fields=["removed_at", "removed_by"])
        audit.record(
            "group.member_remove",
            group,
            actor=actor,
            detail={"member": member.pk, "name": member.display_name, "kind": member.kind},
        )
        _notice(group, member, "已被移出群组", now)
        live.member_changed(member, "removed")
    return member


def member_mute(*, actor: User, member: GroupMember, muted: bool = True, now=None) -> GroupMember:
    """禁言 / 解除禁言 a member (not the creator)."""
    now = now or timezone.now()
    group = member.group
    _require_manager(actor, group)
    if member.role == GroupMember.Role.OWNER:
        raise Conflict("不能对群主禁言")
    with transaction.atomic():
        member = GroupMember.objects.select_for_update().get(pk=member.pk)
        if not member.is_active:
            raise Conflict(f"{member.display_name}已不在群组中")
        if member.muted == muted:
            raise Conflict(f"{member.display_name}{'已被禁言' if muted else '未被禁言'}")
        member.muted, member.muted_at = muted, now if muted else None
        member.save(update_fields=["muted", "muted_at"])
        audit.record(
            "group.member_mute" if muted else "group.member_unmute",
            group,
            actor=actor,
            before={"muted": not muted},
            after={"muted": muted},
            detail={"member": member.pk, "name": member.display_name},
        )
        _notice(group, member, "已被禁言" if muted else "已解除禁言", now)
        live.member_changed(member, "muted" if muted else "unmuted")
    return member


# --- citizens' invite links --------------------------------------------------------------------------


def invite_issue(*, actor: User, group: ChatGroup, days: int = 7, now=None) -> GroupInvite:
    """生成（重新生成）邀请链接: the previous link stops working."""
    now = now or timezone.now()
    _require_manager(actor, group)
    if days not in INVITE_DAYS:
        raise Unprocessable("有效期须为 1 天、7 天或 30 天", field="days")
    with transaction.atomic():
        group = _locked(group)
        _require_open(group)
        group.invites.filter(revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
        invite = GroupInvite.objects.create(
            group=group,
            code=secrets.token_hex(16),
            created_by=actor,
            created_at=now,
            expires_at=now + dt.timedelta(days=days),
        )
        audit.record(
            "group.invite_issue",
            group,
            actor=actor,
            detail={"invite": invite.pk, "expires_at": invite.expires_at.isoformat()},
        )
    return invite


def invite_revoke(*, actor: User, group: ChatGroup, now=None) -> int:
    """作废邀请链接: citizens can no longer join by it (who joined stays)."""
    now = now or timezone.now()
    _require_manager(actor, group)
    with transaction.atomic():
        revoked = group.invites.filter(revoked_at__isnull=True, expires_at__gt=now).update(
            revoked_at=now, revoked_by=actor
        )
        if not revoked:
            raise Conflict("当前没有有效的邀请链接")
        audit.record("group.invite_revoke", group, actor=actor, detail={"links": revoked})
    return revoked


def invite_check(token: str, now=None) -> GroupInvite:
    """The invite a link names, if it may still be used; else a Chinese refusal (403)."""
    from . import tokens

    now = now or timezone.now()
    claim = tokens.read_invite(token)
    invite = None
    if claim is not None:
        invite = (
            GroupInvite.objects.select_related("group__platform")
            .filter(group_id=claim[0], code=claim[1])
            .first()
        )
    if invite is None:
        raise Forbidden("邀请链接无效，请向邀请您的工作人员索取新的链接")
    if not invite.group.is_open:
        raise Forbidden("该群组已关闭")
    if invite.revoked_at is not None:
        raise Forbidden("邀请链接已作废，请向邀请您的工作人员索取新的链接")
    if invite.expires_at <= now:
        raise Forbidden("邀请链接已过期，请向邀请您的工作人员索取新的链接")
    return invite


def guest_join(*, token: str, nickname: str, now=None) -> GroupMember:
    """游客入群: a citizen with a usable link joins under a nickname."""
    now = now or timezone.now()
    invite = invite_check(token, now)
    nickname = " ".join((nickname or "").split())
    if not nickname:
        raise Unprocessable("请填写昵称", field="nickname")
    if len(nickname) > NICKNAME_LONGEST:
        raise Unprocessable(f"昵称不能超过 {NICKNAME_LONGEST} 个字", field="nickname")
    with transaction.atomic():
        group = _locked(invite.group)
        _require_open(group)
        _room_for_one_more(group)
        taken = group.members.filter(removed_at__isnull=True, kind=GroupMember.Kind.GUEST)
        if taken.filter(nickname=nickname).exists():
            raise Conflict("该昵称已有人使用，请换一个", field="nickname")
        member = GroupMember.objects.create(
            group=group,
            kind=GroupMember.Kind.GUEST,
            nickname=nickname,
            guest_key=secrets.token_hex(16),
            invite=invite,
            invited_by=invite.created_by,
            joined_at=now,
        )
        audit.record(
            "group.guest_join",
            group,
            detail={"member": member.pk, "nickname": nickname, "invite": invite.pk},
        )
        _notice(group, member, "加入了群组", now)
        live.member_changed(member, "joined")
    return member


# --- messages ------------------------------------------------------------------------------------


def message_post(
    *, member: GroupMember, body: str = "", attachment=None, client_id: str = "", now=None
) -> GroupMessage:
    """发言: text, or an image (checked as an order's attachment is, jpg/png only). A
    message the page sends again after a reconnect (same ``client_id``) is stored once."""
    now = now or timezone.now()
    body = (body or "").strip()
    client_id = (client_id or "")[:60]
    if attachment is None and not body:
        raise Unprocessable("消息内容不能为空", field="body")
    if len(body) > BODY_LONGEST:
        raise Unprocessable(f"消息不能超过 {BODY_LONGEST} 个字", field="body")
    if attachment is not None:
        from hotline.workorders.services import attachment_check

        name = str(getattr(attachment, "name", "") or "")
        if name.rsplit(".", 1)[-1].lower() not in IMAGE_TYPES:
            raise Unprocessable("只能发送 jpg、png 格式的图片", field="attachments")
        attachment_check(attachment)
    with transaction.atomic():
        member = GroupMember.objects.select_related("group", "user__unit").get(pk=member.pk)
        group = member.group
        if not member.is_active:
            raise Forbidden("您已被移出群组，不能发言")
        if not group.is_open:
            raise Conflict("群组已关闭，不能发送消息")
        if member.muted:
            raise Forbidden("您已被禁言，不能发言")
        if client_id:
            again = GroupMessage.objects.filter(group=group, member=member, client_id=client_id)
            if again.exists():
                return again.first()
        message = GroupMessage(
            group=group,
            member=member,
            kind=GroupMessage.Kind.IMAGE if attachment is not None else GroupMessage.Kind.TEXT,
            body=body,
            client_id=client_id,
            at=now,
        )
        if attachment is not None:
            ext = str(attachment.name).rsplit(".", 1)[-1].lower()
            message.attachment.save(f"{secrets.token_hex(12)}.{ext}", attachment, save=False)
        message.save()
        ChatGroup.objects.filter(pk=group.pk).update(last_message_at=now)
        live.message_created(message)
    return message


def staff_post(*, actor: User, group: ChatGroup, body: str = "", attachment=None, client_id=""):
    """A staff member's message: only members speak (an operator who is not one reads)."""
    member = selectors.member_of(actor, group)
    if member is None:
        if selectors.is_operator(actor, group):
            raise Forbidden("您不是群组成员，不能发言")
        raise NotFound("群组不存在或您不是群组成员")
    return message_post(member=member, body=body, attachment=attachment, client_id=client_id)


AUDIT_LABELS = {
    "group.create": "创建群组",
    "group.update": "修改群组",
    "group.close": "关闭群组",
    "group.member_invite": "邀请群组成员",
    "group.member_remove": "移出群组成员",
    "group.member_mute": "群组成员禁言",
    "group.member_unmute": "解除群组成员禁言",
    "group.invite_issue": "生成群组邀请链接",
    "group.invite_revoke": "作废群组邀请链接",
    "group.guest_join": "游客加入群组",
}
