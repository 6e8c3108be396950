"""The group chat live, at the socket level: staff pages (session) and a citizen's page
(guest token) through ``hotline.asgi.application`` and the configured channel layer."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from hotline.groups import services, tokens
from hotline.groups.models import GroupMember
from hotline.testing import Socket

pytestmark = pytest.mark.django_db(transaction=True)


def guest_socket(member) -> Socket:
    return Socket(f"/ws/g/?t={tokens.guest_token(member)}")


def is_message(body):
    return lambda m: m.get("event") == "message" and m["message"]["body"] == body


@pytest.fixture
def citizen(group, link, client):
    client.post(link, {"nickname": "王女士"})
    return GroupMember.objects.get(group=group, kind="guest")


def test_a_message_reaches_staff_and_citizen_sockets_each_named_their_way(
    people, group, citizen, login, api
):
    services.member_invite(actor=people.agent, group=group, user=people.handler)
    agent_page = Socket(f"/ws/groups/{group.pk}/", login(people.agent))
    handler_page = Socket(f"/ws/groups/{group.pk}/", login(people.handler))
    citizen_page = guest_socket(citizen)

    async def scenario():
        for socket in (agent_page, handler_page, citizen_page):
            assert await socket.connect()
            hello = await socket.receive_json_from()
            assert hello["event"] == "hello" and hello["group"]["name"] == "台风天气供水协调群"
            assert hello["me"]["may_post"]
        # the agent writes (through the API): everyone sees it at once
        await sync_to_async(
            lambda: api(people.agent).post(
                f"/api/groups/{group.pk}/messages",
                {"body": "今晚 8 点恢复供水"},
                content_type="application/json",
            )
        )()
        for staff in (agent_page, handler_page):
            seen = await staff.receive_until(is_message("今晚 8 点恢复供水"))
            assert seen["message"]["sender"] == "话务员韩晓燕"
            assert seen["message"]["affiliation"] == "热线中心"
        seen = await citizen_page.receive_until(is_message("今晚 8 点恢复供水"))
        assert seen["message"]["sender"] == "1001号客服"  # never the agent's name
        # the citizen writes over the socket; the staff see the nickname
        await citizen_page.send_json_to(
            {"type": "message", "body": "谢谢，收到", "client_id": "c1"}
        )
        echo = await citizen_page.receive_until(is_message("谢谢，收到"))
        assert echo["message"]["client_id"] == "c1" and echo["message"]["member"] == citizen.pk
        seen = await handler_page.receive_until(is_message("谢谢，收到"))
        assert seen["message"]["sender"] == "王女士" and seen["message"]["guest"]
        # the handler answers over the socket; the citizen sees the unit, not the name
        await handler_page.send_json_to({"type": "message", "body": "社保卡补办可网上办理"})
        seen = await citizen_page.receive_until(is_message("社保卡补办可网上办理"))
        assert seen["message"]["sender"] == "市人社局工作人员"
        for socket in (agent_page, handler_page, citizen_page):
            await socket.disconnect()

    async_to_sync(scenario)()


def test_a_muted_citizen_is_told_and_refused_and_a_removed_one_is_cut_off(
    people, group, citizen, login
):
    citizen_page = guest_socket(citizen)
    agent_page = Socket(f"/ws/groups/{group.pk}/", login(people.agent))

    async def scenario():
        assert await citizen_page.connect()
        await citizen_page.receive_json_from()
        assert await agent_page.connect()
        await agent_page.receive_json_from()
        await sync_to_async(services.member_mute)(actor=people.agent, member=citizen)
        told = await citizen_page.receive_until(lambda m: m.get("event") == "member")
        assert told == {"event": "member", "member": citizen.pk, "change": "muted", "muted": True}
        await citizen_page.send_json_to({"type": "message", "body": "为什么", "client_id": "c2"})
        error = await citizen_page.receive_until(lambda m: m.get("event") == "error")
        assert error == {"event": "error", "detail": "您已被禁言，不能发言", "client_id": "c2"}
        await sync_to_async(services.member_remove)(actor=people.agent, member=citizen)
        removed = await citizen_page.receive_until(
            lambda m: m.get("event") == "member" and m["change"] == "removed"
        )
        assert removed["member"] == citizen.pk
        closed = await citizen_page.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}
        # the staff page saw it all, and stays open
        notice = await agent_page.receive_until(
            lambda m: m.get("event") == "message" and m["message"]["body"] == "已被移出群组"
        )
        assert notice["message"]["sender"] == "王女士"
        # the token no longer opens the group
        assert await guest_socket(citizen).closed_with() == 4401
        await agent_page.disconnect()

    async_to_sync(scenario)()


def test_sockets_without_a_seat_are_refused(people, group, login):
    async def scenario():
        assert await Socket("/ws/g/?t=forged").closed_with() == 4401
        assert await Socket(f"/ws/groups/{group.pk}/").closed_with() == 4401
        outsider = Socket(f"/ws/groups/{group.pk}/", await sync_to_async(login)(people.agent2))
        assert await outsider.closed_with() == 4404
        # the operator reads but does not speak
        operator = Socket(f"/ws/groups/{group.pk}/", await sync_to_async(login)(people.operator))
        assert await operator.connect()
        hello = await operator.receive_json_from()
        assert hello["me"] == {"member": None, "muted": False, "may_post": False}
        await operator.send_json_to({"type": "message", "body": "你好"})
        assert (await operator.receive_json_from())["detail"] == "您不是群组成员，不能发言"
        await operator.disconnect()

    async_to_sync(scenario)()
