"""Reads of 群组交互, shaped for the pages and the API.

Who sees a group: its active members, and the global operator (全局运营者: whoever holds
``org.manage``, the system administrator) for every platform in the operator's data
scope. Anyone else is told the group does not exist (404).
"""

from django.db.models import Count, Q, QuerySet

from hotline.core.errors import NotFound
from hotline.core.models import User
from hotline.core.roles import ROLES
from hotline.core.scope import scope_of

from . import tokens
from .models import ChatGroup, GroupInvite, GroupMember, GroupMessage

PAGE_MESSAGES = 100  # a page or a socket's hello carries at most this many messages


def may_create(user) -> bool:
    """Agents and team leaders open groups (坐席群组): those who handle contacts."""
    return user.can("contact.handle")


def may_take_part(user) -> bool:
    """A staff account that may be in a group: active, with a business role (the three
    separated admin accounts are not)."""
    return user.is_active and any(not ROLES[code].admin for code in user.role_codes)


def is_operator(user, group: ChatGroup | None = None) -> bool:
    """全局运营者: ``org.manage`` over the group's platform (over some platform when no
    group is named)."""
    if not getattr(user, "is_authenticated", False) or not user.can("org.manage"):
        return False
    return group is None or scope_of(user).covers_platform(group.platform_id)


def member_of(user, group: ChatGroup) -> GroupMember | None:
    """The user's active membership of the group, if any."""
    return (
        GroupMember.objects.select_related("user__unit")
        .filter(group=group, user=user, removed_at__isnull=True)
        .first()
    )


def may_manage(user, group: ChatGroup) -> bool:
    """The group's creator (群主) or an operator."""
    return group.created_by_id == user.pk or is_operator(user, group)


def group_for(user, group_id: int) -> ChatGroup:
    """A group the user may open (a member, or an operator), else 404."""
    group = ChatGroup.objects.select_related("platform", "created_by").filter(pk=group_id).first()
    if group is None or not (
        is_operator(user, group)
        or GroupMember.objects.filter(group=group, user=user, removed_at__isnull=True).exists()
    ):
        raise NotFound("群组不存在或您不是群组成员")
    return group


def _with_counts(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("platform", "created_by").annotate(
        member_count=Count("members", filter=Q(members__removed_at__isnull=True), distinct=True)
    )


def my_groups(user) -> list[ChatGroup]:
    """我的群组: the groups the user is an active member of, open ones first, then by
    the latest message."""
    ids = GroupMember.objects.filter(user=user, removed_at__isnull=True).values("group_id")
    return list(
        _with_counts(ChatGroup.objects.filter(pk__in=ids)).order_by(
            "state", "-last_message_at", "-pk"
        )
    )


def operated_groups(user, *, platform_id=None, state: str = "", q: str = "") -> QuerySet:
    """群组管理: every group of the platforms in the operator's scope, filtered."""
    if not is_operator(user):
        return ChatGroup.objects.none()
    groups = ChatGroup.objects.filter(platform_id__in=scope_of(user).platform_ids)
    if platform_id:
        groups = groups.filter(platform_id=platform_id)
    if state in ChatGroup.State.values:
        groups = groups.filter(state=state)
    if q:
        groups = groups.filter(Q(name__icontains=q) | Q(topic__icontains=q))
    return _with_counts(groups).order_by("-pk")


def members(group: ChatGroup, *, removed: bool = False) -> list[GroupMember]:
    """The group's members, owner first; ``removed``: those moved out as well."""
    rows = GroupMember.objects.select_related("user__unit").filter(group=group)
    if not removed:
        rows = rows.filter(removed_at__isnull=True)
    return sorted(rows, key=lambda m: (m.removed_at is not None, m.role != "owner", m.pk))


def messages(group: ChatGroup, *, after: int = 0, limit: int = PAGE_MESSAGES) -> list[GroupMessage]:
    """The latest ``limit`` messages after id ``after``, oldest first."""
    rows = GroupMessage.objects.select_related("member__user__unit").filter(group=group)
    if after:
        return list(rows.filter(pk__gt=after).order_by("pk")[:limit])
    return list(reversed(rows.order_by("-pk")[:limit]))


def current_invite(group: ChatGroup) -> GroupInvite | None:
    """The link in force (the latest one, while neither revoked nor expired)."""
    invite = group.invites.order_by("-pk").first()
    return invite if invite is not None and invite.usable() else None


def invite_candidates(group: ChatGroup, *, q: str = "", limit: int = 200) -> list[User]:
    """Staff who may be invited: active accounts of the group's platform (its agents and
    leaders, and the staff of its handling units) not yet in the group."""
    in_group = GroupMember.objects.filter(group=group, removed_at__isnull=True, user__isnull=False)
    users = (
        User.objects.select_related("unit")
        .filter(is_active=True, platform_id=group.platform_id)
        .exclude(pk__in=in_group.values("user_id"))
        .filter(role_assignments__isnull=False)
        .distinct()
    )
    if q:
        users = users.filter(
            Q(display_name__icontains=q) | Q(username__icontains=q) | Q(unit__name__icontains=q)
        )
    return [u for u in users.order_by("unit_id", "username")[: limit * 2] if may_take_part(u)][
        :limit
    ]


def guest_of(token: str) -> GroupMember | None:
    """The active guest member a guest token names, or None."""
    claim = tokens.read_guest(token)
    if claim is None:
        return None
    group_id, member_id, key = claim
    return (
        GroupMember.objects.select_related("group__platform")
        .filter(
            pk=member_id,
            group_id=group_id,
            kind=GroupMember.Kind.GUEST,
            guest_key=key,
            removed_at__isnull=True,
        )
        .first()
    )
