"""群组交互 through its pages, API and services: creating, inviting staff and citizens,
the invite link's life, 禁言, removal, closing, and who may see what."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from hotline.core.models import AuditEntry
from hotline.groups import services, tokens
from hotline.groups.models import ChatGroup, GroupMember, GroupMessage

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_an_agent_creates_a_group_on_their_platform_and_is_its_owner(people, api, org):
    response = api(people.agent).post(
        "/api/groups",
        {"name": "  供水 协调群 ", "topic": "停水答复口径"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["name"] == "供水 协调群" and data["owner"] and data["member_count"] == 1
    group = ChatGroup.objects.get(pk=data["id"])
    assert group.platform == org.sy
    assert group.members.get().role == GroupMember.Role.OWNER
    entry = AuditEntry.objects.get(action="group.create")
    assert entry.actor == people.agent and entry.object_id == str(group.pk)
    # listed in the agent's groups
    assert [g["id"] for g in api(people.agent).get("/api/groups").json()] == [group.pk]


def test_a_group_needs_a_name_and_unit_staff_do_not_create_groups(people, api):
    empty = api(people.agent).post("/api/groups", {"name": "  "}, content_type="application/json")
    assert empty.status_code == 422 and empty.json()["detail"] == "请填写群组名称"
    refused = api(people.handler).post(
        "/api/groups", {"name": "办件群"}, content_type="application/json"
    )
    assert refused.status_code == 403 and "话务员" in refused.json()["detail"]
    assert not ChatGroup.objects.exists()


def test_the_owner_invites_agents_and_unit_staff_of_the_platform(people, api, group):
    client = api(people.agent)
    for user in (people.agent2, people.handler):
        response = client.post(
            f"/api/groups/{group.pk}/members", {"user": user.pk}, content_type="application/json"
        )
        assert response.status_code == 201, response.content
    members = client.get(f"/api/groups/{group.pk}/members").json()
    assert [(m["name"], m["affiliation"]) for m in members] == [
        ("话务员韩晓燕", "热线中心"),
        ("话务员刘洋", "热线中心"),
        ("人社局王芳", "市人社局"),
    ]
    # the invited see the group; the chat says who joined
    assert [g["id"] for g in api(people.handler).get("/api/groups").json()] == [group.pk]
    notices = GroupMessage.objects.filter(group=group, kind="notice")
    assert [n.body for n in notices] == ["加入了群组", "加入了群组"]
    assert AuditEntry.objects.filter(action="group.member_invite").count() == 2
    again = client.post(
        f"/api/groups/{group.pk}/members",
        {"user": people.handler.pk},
        content_type="application/json",
    )
    assert again.status_code == 409 and again.json()["detail"] == "人社局王芳已在群组中"


def test_staff_of_another_platform_or_admin_accounts_cannot_be_invited(people, api, group):
    client = api(people.agent)
    other = client.post(
        f"/api/groups/{group.pk}/members",
        {"user": people.yz_handler.pk},
        content_type="application/json",
    )
    assert other.status_code == 422
    assert other.json()["detail"] == "崖州区陈刚不属于三亚市12345热线，只能邀请本平台的工作人员"
    admin = client.post(
        f"/api/groups/{group.pk}/members",
        {"user": people.operator.pk},
        content_type="application/json",
    )
    assert admin.status_code == 422 and "不能加入业务群组" in admin.json()["detail"]
    assert group.members.count() == 1
    # only the owner (or the operator) manages members
    services.member_invite(actor=people.agent, group=group, user=people.agent2)
    by_member = api(people.agent2).post(
        f"/api/groups/{group.pk}/members",
        {"user": people.handler.pk},
        content_type="application/json",
    )
    assert (
        by_member.status_code == 403
        and by_member.json()["detail"] == "只有群主或平台管理员可以管理此群组"
    )


def test_a_citizen_joins_by_the_link_with_a_nickname(client, group, link, people):
    page = client.get(link)
    assert page.status_code == 200
    assert (
        "邀请您加入群组讨论" in page.content.decode()
        and "台风天气供水协调群" in page.content.decode()
    )
    blank = client.post(link, {"nickname": " "})
    assert blank.status_code == 400 and "这个字段是必填项" in blank.content.decode()
    joined = client.post(link, {"nickname": "王女士"})
    assert joined.status_code == 302
    guest = GroupMember.objects.get(group=group, kind="guest")
    assert guest.nickname == "王女士" and guest.invited_by == people.agent
    # the cookie and the chat page carry a signed token naming this citizen (the tokens
    # are timestamped, so compared by what they say, not character by character)
    claim = (group.pk, guest.pk, guest.guest_key)
    assert tokens.read_guest(client.cookies[tokens.guest_cookie(group.pk)].value) == claim
    chat = client.get(link)
    assert chat.status_code == 200 and "我是 王女士" in chat.content.decode()
    on_page = re.search(r'data-token="([^"]+)"', chat.content.decode()).group(1)
    assert tokens.read_guest(on_page) == claim
    entry = AuditEntry.objects.get(action="group.guest_join")
    assert entry.actor is None and entry.detail["nickname"] == "王女士"
    # a second citizen may not take the same nickname
    other = type(client)().post(link, {"nickname": "王女士"})
    assert other.status_code == 400 and "该昵称已有人使用" in other.content.decode()


def test_a_revoked_or_expired_or_forged_link_is_refused_in_chinese(
    client, group, link, people, api
):
    assert api(people.agent).delete(f"/api/groups/{group.pk}/invite").json() == {"revoked": 1}
    revoked = client.post(link, {"nickname": "李先生"})
    assert revoked.status_code == 403
    assert "邀请链接已作废，请向邀请您的工作人员索取新的链接" in revoked.content.decode()
    assert not GroupMember.objects.filter(kind="guest").exists()
    # a new link works; once its time has passed it does not
    invite = services.invite_issue(actor=people.agent, group=group, days=1)
    fresh = f"/g/{tokens.invite_token(invite)}/"
    assert client.get(fresh).status_code == 200
    invite.expires_at = timezone.now() - dt.timedelta(seconds=1)
    invite.save()
    expired = client.get(fresh)
    assert expired.status_code == 403 and "邀请链接已过期" in expired.content.decode()
    forged = client.get(fresh.replace(fresh[-6:-1], "AAAAA"))
    assert forged.status_code == 403 and "邀请链接无效" in forged.content.decode()
    assert (
        AuditEntry.objects.filter(action__in=["group.invite_issue", "group.invite_revoke"]).count()
        == 3
    )


def test_revoking_the_link_stops_new_joins_not_the_citizens_who_joined(client, group, link, people):
    client.post(link, {"nickname": "王女士"})
    services.invite_revoke(actor=people.agent, group=group)
    back = client.get(link)
    assert back.status_code == 200 and "我是 王女士" in back.content.decode()


def test_a_muted_member_cannot_post_until_unmuted(people, api, group):
    member = services.member_invite(actor=people.agent, group=group, user=people.handler)
    owner, handler = api(people.agent), api(people.handler)
    url = f"/api/groups/{group.pk}/messages"
    assert handler.post(url, {"body": "已收到"}, content_type="application/json").status_code == 201
    muted = owner.post(
        f"/api/groups/{group.pk}/members/{member.pk}/mute",
        {"muted": True},
        content_type="application/json",
    )
    assert muted.status_code == 200 and muted.json()["muted"]
    refused = handler.post(url, {"body": "我还想说"}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["detail"] == "您已被禁言，不能发言"
    owner.post(
        f"/api/groups/{group.pk}/members/{member.pk}/mute",
        {"muted": False},
        content_type="application/json",
    )
    assert (
        handler.post(url, {"body": "我还想说"}, content_type="application/json").status_code == 201
    )
    bodies = [m["body"] for m in owner.get(url).json()]
    assert bodies == ["加入了群组", "已收到", "已被禁言", "已解除禁言", "我还想说"]
    actions = AuditEntry.objects.filter(action__startswith="group.member_").values_list(
        "action", flat=True
    )
    assert sorted(actions) == ["group.member_invite", "group.member_mute", "group.member_unmute"]
    # the owner is never muted or removed
    own = group.members.get(role="owner")
    assert (
        owner.post(
            f"/api/groups/{group.pk}/members/{own.pk}/mute",
            {"muted": True},
            content_type="application/json",
        ).status_code
        == 409
    )


def test_who_is_not_a_member_cannot_read_the_group(people, api, group, login):
    services.staff_post(actor=people.agent, group=group, body="内部口径：预计今晚 8 点恢复供水")
    outsider = api(people.agent2)
    for path in (
        f"/api/groups/{group.pk}",
        f"/api/groups/{group.pk}/messages",
        f"/api/groups/{group.pk}/members",
    ):
        response = outsider.get(path)
        assert (
            response.status_code == 404
            and response.json()["detail"] == "群组不存在或您不是群组成员"
        )
    assert login(people.agent2).get(f"/groups/{group.pk}/").status_code == 404
    # a removed member is an outsider again
    member = services.member_invite(actor=people.agent, group=group, user=people.handler)
    assert api(people.handler).get(f"/api/groups/{group.pk}/messages").status_code == 200
    removed = api(people.agent).delete(f"/api/groups/{group.pk}/members/{member.pk}")
    assert removed.status_code == 200
    assert api(people.handler).get(f"/api/groups/{group.pk}/messages").status_code == 404
    assert AuditEntry.objects.filter(action="group.member_remove").count() == 1


def test_images_are_checked_like_attachments(people, api, group, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = api(people.agent)
    url = f"/api/groups/{group.pk}/files"
    ok = client.post(url, {"file": SimpleUploadedFile("现场.png", PNG, "image/png")})
    assert ok.status_code == 201 and ok.json()["kind"] == "image"
    image = client.get(ok.json()["image"])
    assert image.status_code == 200 and b"".join(image.streaming_content) == PNG
    fake = client.post(url, {"file": SimpleUploadedFile("假图.png", b"GIF89a....", "image/png")})
    assert fake.status_code == 422 and "内容与扩展名 .png 不符" in fake.json()["detail"]
    text = client.post(url, {"file": SimpleUploadedFile("说明.txt", b"hello", "text/plain")})
    assert text.status_code == 422 and text.json()["detail"] == "只能发送 jpg、png 格式的图片"


def test_a_closed_group_keeps_its_history_and_takes_no_more_messages(
    people, api, group, link, client
):
    owner = api(people.agent)
    owner.post(
        f"/api/groups/{group.pk}/messages",
        {"body": "今晚恢复供水"},
        content_type="application/json",
    )
    closed = owner.post(f"/api/groups/{group.pk}/close")
    assert closed.status_code == 200 and closed.json()["state_label"] == "已关闭"
    again = owner.post(
        f"/api/groups/{group.pk}/messages", {"body": "补充"}, content_type="application/json"
    )
    assert again.status_code == 409 and again.json()["detail"] == "群组已关闭，不能发送消息"
    assert [m["body"] for m in owner.get(f"/api/groups/{group.pk}/messages").json()] == [
        "今晚恢复供水"
    ]
    refused = client.get(link)
    assert refused.status_code == 403 and "该群组已关闭" in refused.content.decode()
    assert AuditEntry.objects.get(action="group.close").actor == people.agent


def test_the_global_operator_sees_and_manages_every_group(
    people, api, group, login, make_user, org
):
    yz_agent = make_user(
        "agent", platform=org.yz, username="agent_yz_gc", display_name="崖州话务员"
    )
    yz_group = services.group_create(actor=yz_agent, name="崖州区防汛群")
    operator = api(people.operator)
    listed = operator.get("/api/groups/manage").json()
    assert {g["name"] for g in listed} == {"台风天气供水协调群", "崖州区防汛群"}
    assert all(g["may_manage"] for g in listed)
    # reads a group it is not in, manages it, but does not speak in it
    assert operator.get(f"/api/groups/{group.pk}/messages").status_code == 200
    member = services.member_invite(actor=people.agent, group=group, user=people.handler)
    assert (
        operator.post(
            f"/api/groups/{group.pk}/members/{member.pk}/mute",
            {"muted": True},
            content_type="application/json",
        ).status_code
        == 200
    )
    speak = operator.post(
        f"/api/groups/{group.pk}/messages", {"body": "你好"}, content_type="application/json"
    )
    assert speak.status_code == 403 and speak.json()["detail"] == "您不是群组成员，不能发言"
    assert operator.post(f"/api/groups/{yz_group.pk}/close").status_code == 200
    page = login(people.operator).get("/groups/manage/?state=open")
    assert page.status_code == 200
    body = page.content.decode()
    assert "台风天气供水协调群" in body and "崖州区防汛群" not in body
    # agents are no operators
    assert api(people.agent).get("/api/groups/manage").status_code == 403
    assert login(people.agent).get("/groups/manage/").status_code == 403


def test_the_pages_create_manage_and_show_the_group(people, login, group):
    client = login(people.agent)
    home = client.get("/groups/")
    assert home.status_code == 200 and "台风天气供水协调群" in home.content.decode()
    assert "群组交互" in home.content.decode()  # the menu entry
    created = client.post("/groups/", {"name": "医保咨询群", "topic": ""})
    new = ChatGroup.objects.get(name="医保咨询群")
    assert created.status_code == 302 and created["Location"] == f"/groups/{new.pk}/"
    invited = client.post(f"/groups/{new.pk}/invite/", {"user": people.handler.pk})
    assert invited.status_code == 302
    assert new.members.filter(user=people.handler).exists()
    client.post(f"/groups/{new.pk}/link/", {"days": "30"})
    page = client.get(f"/groups/{new.pk}/").content.decode()
    assert "人社局王芳" in page and "作废链接" in page and "/g/" in page
    client.post(f"/groups/{new.pk}/rename/", {"name": "医保政策咨询群", "topic": "异地就医"})
    new.refresh_from_db()
    assert (new.name, new.topic) == ("医保政策咨询群", "异地就医")
    refused = client.post(f"/groups/{new.pk}/rename/", {"name": ""}, follow=True)
    assert "请填写群组名称" in refused.content.decode()
    # the handler's menu has the entry; the handler's page has no management panel
    handler_page = login(people.handler).get(f"/groups/{new.pk}/").content.decode()
    assert "群组交互" in handler_page and "邀请工作人员" not in handler_page
