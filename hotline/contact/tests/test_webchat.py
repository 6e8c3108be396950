"""Web chat end to end at the socket level: a citizen's page and an agent's desk, through
``hotline.asgi.application`` and whichever channel layer the settings choose (in-memory,
or Redis with ``REDIS_URL``)."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from hotline.contact import services
from hotline.contact.connectors import Inbound, webchat
from hotline.contact.models import Message, Session
from hotline.testing import Socket

pytestmark = pytest.mark.django_db(transaction=True)


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


def chat(entry, token) -> Socket:
    return Socket(f"/ws/chat/SY/{entry.code}/?t={token}")


def test_a_page_without_a_valid_token_or_for_an_unknown_entry_is_refused(entry):
    other = services.channel_entry_create(
        actor=None,
        platform=entry.platform,
        channel="webchat",
        code="web2",
        name="二",
        queue=entry.queue,
    )

    async def scenario():
        assert await chat(entry, "forged").closed_with() == 4401
        # a token of another entry does not open this one
        assert await chat(entry, webchat.visitor_token(other)).closed_with() == 4401
        assert (
            await Socket(f"/ws/chat/SY/nope/?t={webchat.visitor_token(entry)}").closed_with()
            == 4404
        )

    async_to_sync(scenario)()
    assert not Session.objects.exists()


def test_citizen_writes_agent_answers_ends_and_the_citizen_rates(entry, cc, make_user, login):
    agent = make_user("agent", username="agent_web", display_name="话务员小林", employee_no="1023")
    agent_client = login(agent)
    token = webchat.visitor_token(entry)
    visitor = webchat.verify(entry, token)

    async def scenario():
        citizen, desk = chat(entry, token), Socket("/ws/desk/", agent_client)
        assert await citizen.connect() and await desk.connect()
        hello = await citizen.receive_json_from()
        assert hello["event"] == "hello" and "欢迎" in hello["welcome"]
        assert hello["state"]["state"] == "none" and hello["messages"] == []
        assert (await desk.receive_json_from())["event"] == "ready"

        # nobody is signed in: the citizen waits, and is told so
        await citizen.send_json_to(
            {"type": "message", "body": "请问公积金怎么提取？", "client_id": "c1"}
        )
        echo = await citizen.receive_until(lambda m: m["event"] == "message")
        assert (
            echo["message"]["body"] == "请问公积金怎么提取？"
            and echo["message"]["client_id"] == "c1"
        )
        waiting = await citizen.receive_until(
            lambda m: m["event"] == "state" and m["state"]["state"] == "queued"
        )
        assert "您前面还有 0 位" in waiting["state"]["announcement"]

        # the same message re-sent after a reconnect is not stored twice
        await citizen.send_json_to(
            {"type": "message", "body": "请问公积金怎么提取？", "client_id": "c1"}
        )

        # the agent signs in: the chat is assigned at once (auto accept)
        await sync_to_async(services.agent_sign_in)(actor=agent)
        joined = await citizen.receive_until(
            lambda m: m["event"] == "state" and m["state"]["state"] == "active"
        )
        assert joined["state"]["agent"] == "1023号客服"
        assigned = await desk.receive_until(
            lambda m: m["event"] == "fact" and m["kind"] == "answered"
        )
        session_id = assigned["session"]

        response = await sync_to_async(agent_client.post)(
            f"/api/contact/sessions/{session_id}/messages",
            {"body": "您好，可以在公积金中心网站办理。"},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        reply = await citizen.receive_until(
            lambda m: m["event"] == "message" and m["message"]["direction"] == "out"
        )
        assert reply["message"]["sender"] == "1023号客服"
        await citizen.send_json_to({"type": "ack", "ids": [reply["message"]["id"]]})
        delivered = await desk.receive_until(
            lambda m: m["event"] == "delivery" and m["delivery"] == "delivered"
        )
        assert delivered["message"] == reply["message"]["id"]

        response = await sync_to_async(agent_client.post)(f"/api/contact/sessions/{session_id}/end")
        assert response.status_code == 200, response.content
        ended = await citizen.receive_until(lambda m: m["event"] == "state" and m["state"]["rate"])
        assert ended["state"]["state"] == "wrap_up"
        await citizen.send_json_to({"type": "rate", "satisfaction": "很好"})
        assert (
            "满意度须为" in (await citizen.receive_until(lambda m: m["event"] == "error"))["detail"]
        )
        await citizen.send_json_to({"type": "rate", "satisfaction": "满意"})
        await citizen.receive_until(lambda m: m["event"] == "rated")
        await citizen.disconnect()
        await desk.disconnect()
        return session_id

    session_id = async_to_sync(scenario)()
    session = Session.objects.get(pk=session_id)
    assert session.address == visitor and session.satisfaction == "满意"
    assert session.messages.filter(direction=Message.Direction.INBOUND).count() == 1
    outbound = session.messages.get(sender=agent)
    assert outbound.delivery == "delivered" and outbound.attempts == 1


def test_a_returning_visitor_sees_the_conversation_and_confirms_it(entry, cc, agent):
    worker = agent("林")
    token = webchat.visitor_token(entry)
    visitor = webchat.verify(entry, token)
    message = services.inbound_receive(
        entry=entry, inbound=Inbound(address=visitor, body="我要投诉噪音")
    )
    session = message.session
    services.message_send(actor=worker, session=session, body="请问具体地址？")

    async def scenario():
        page = chat(entry, token)
        assert await page.connect()
        hello = await page.receive_json_from()
        assert [m["body"] for m in hello["messages"] if m["kind"] != "event"] == [
            "我要投诉噪音",
            "请问具体地址？",
        ]
        assert hello["state"]["state"] == "active"
        await page.disconnect()

    async_to_sync(scenario)()
