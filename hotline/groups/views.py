"""Pages of 群组交互.

* ``/groups/`` — 我的群组 and 创建群组 (agents and leaders create; unit staff take part);
* ``/groups/<id>/`` — the chat, the members panel and, for the creator (群主) and the
  operator, the management actions (rename, close, invite staff, the citizens' link,
  remove, 禁言); the chat itself is ``static/groups/groupchat.js`` over the socket;
* ``/groups/manage/`` — 群组管理 for the global operator (``org.manage``): every group of
  every platform in scope.

Views are thin: the rules are in services and selectors.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hotline.core.errors import NotFound
from hotline.core.models import Platform, User
from hotline.core.scope import scope_of
from hotline.web import pages

from . import selectors, services, tokens
from .forms import GroupForm, InviteForm, LinkForm, MemberForm
from .models import ChatGroup, GroupMember


def _group_or_404(user, pk) -> ChatGroup:
    try:
        return selectors.group_for(user, pk)
    except NotFound as error:
        raise Http404(error.message) from None


def invite_link(request, invite) -> str:
    """The citizens' link in full, to be copied into a message or a QR code."""
    path = reverse("group_guest", args=[tokens.invite_token(invite)])
    site = settings.HOTLINE_SITE_URL.rstrip("/")
    return site + path if site else request.build_absolute_uri(path)


@login_required
@require_http_methods(["GET", "POST"])
def groups(request):
    """我的群组 + 创建群组."""
    user = request.user
    if not selectors.may_take_part(user):
        raise PermissionDenied("群组交互面向业务人员（话务员、值班长、承办单位人员等）。")
    form = GroupForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            ok, group = pages.attempt(
                request,
                lambda: services.group_create(actor=user, **form.cleaned_data),
                success="群组已创建，可以邀请成员了",
                form=form,
            )
            if ok:
                return redirect("group_detail", group.pk)
        status = 400
    return render(
        request,
        "groups/groups.html",
        {
            "groups": selectors.my_groups(user),
            "form": form,
            "may_create": selectors.may_create(user),
        },
        status=status,
    )


def _members_context(request, group) -> dict:
    user = request.user
    manager = selectors.may_manage(user, group)
    invite = selectors.current_invite(group) if manager else None
    return {
        "group": group,
        "members": selectors.members(group),
        "manager": manager,
        "me": selectors.member_of(user, group),
        "invite": invite,
        "invite_url": invite_link(request, invite) if invite else "",
    }


@login_required
@require_GET
def group_detail(request, pk):
    """The group: chat, members, management."""
    group = _group_or_404(request.user, pk)
    context = _members_context(request, group)
    if context["manager"] and group.is_open:
        context["candidates"] = selectors.invite_candidates(group)
        context["link_form"] = LinkForm()
        context["rename_form"] = GroupForm(initial={"name": group.name, "topic": group.topic})
    context["urls"] = {
        "socket": f"/ws/groups/{group.pk}/",
        "upload": reverse("api:group_files", args=[group.pk]),
        "members": reverse("group_members", args=[group.pk]),
    }
    return render(request, "groups/group.html", context)


@login_required
@require_GET
def group_members(request, pk):
    """The members panel alone (refreshed by the page when membership changes)."""
    group = _group_or_404(request.user, pk)
    return render(request, "groups/_members.html", _members_context(request, group))


ACTIONS = {"rename", "close", "invite", "link", "unlink", "remove", "mute", "unmute"}


@login_required
@require_POST
def group_action(request, pk, action):
    """群组管理 on the group page: one POST per verb, back to the page."""
    if action not in ACTIONS:
        raise Http404("不支持的操作")
    user = request.user
    group = _group_or_404(user, pk)

    def member():
        form = MemberForm(request.POST)
        found = (
            GroupMember.objects.select_related("group", "user").filter(
                pk=form.cleaned_data["member"], group=group
            )
            if form.is_valid()
            else None
        )
        if not found:
            raise NotFound("成员不存在")
        return found.first()

    def invitee():
        form = InviteForm(request.POST)
        found = (
            User.objects.filter(pk=form.cleaned_data["user"]).first() if form.is_valid() else None
        )
        if found is None:
            raise NotFound("请选择要邀请的工作人员")
        return found

    def days():
        form = LinkForm(request.POST)
        return form.cleaned_data["days"] if form.is_valid() else 0

    if action == "rename":
        calls = (
            lambda: services.group_update(
                actor=user,
                group=group,
                name=request.POST.get("name", ""),
                topic=request.POST.get("topic", ""),
            ),
            "群组信息已修改",
        )
    else:
        calls = {
            "close": (lambda: services.group_close(actor=user, group=group), "群组已关闭"),
            "invite": (
                lambda: services.member_invite(actor=user, group=group, user=invitee()),
                "已邀请加入群组",
            ),
            "link": (
                lambda: services.invite_issue(actor=user, group=group, days=days()),
                "已生成新的邀请链接，原链接已失效",
            ),
            "unlink": (lambda: services.invite_revoke(actor=user, group=group), "邀请链接已作废"),
            "remove": (lambda: services.member_remove(actor=user, member=member()), "已移出群组"),
            "mute": (lambda: services.member_mute(actor=user, member=member()), "已禁言"),
            "unmute": (
                lambda: services.member_mute(actor=user, member=member(), muted=False),
                "已解除禁言",
            ),
        }[action]
    pages.attempt(request, calls[0], success=calls[1])
    back = request.POST.get("next", "")
    if back == "manage" and selectors.is_operator(user):
        return redirect("groups_manage")
    return redirect("group_detail", group.pk)


@login_required
@require_GET
def groups_manage(request):
    """群组管理 (全局运营者): every group of the platforms in scope."""
    user = request.user
    if not selectors.is_operator(user):
        raise PermissionDenied("此页面需要“维护组织架构”权限（系统管理员）。")
    platforms = Platform.objects.filter(pk__in=scope_of(user).platform_ids).order_by("path")
    try:
        platform_id = int(request.GET.get("platform") or 0)
    except ValueError:
        platform_id = 0
    state = request.GET.get("state", "")
    q = request.GET.get("q", "").strip()[:40]
    found = selectors.operated_groups(user, platform_id=platform_id, state=state, q=q)
    return render(
        request,
        "groups/manage.html",
        {
            "page": pages.page_of(request, found, 30),
            "platforms": platforms,
            "states": ChatGroup.State.choices,
            "filters": {"platform": platform_id, "state": state, "q": q},
        },
    )
