"""The distributed road: a media node with no database of its own reaches the platform
through a web node's ``/ws/medianode/`` — a call is answered, queued, rung to the
agent's phone, bridged, recorded and ended, and the node's heartbeat arrives, all over
the WebSocket. A wrong token is refused; bad messages get Chinese errors, never a
dropped socket."""

import asyncio
import json

import pytest
import websockets

from hotline.contact.models import Session
from hotline.telephony.link import LinkDown, WebSocketLink
from hotline.telephony.models import CallRecording, MediaNodeStatus
from hotline.telephony.node_calls import node_token

from .phone import dominant_frequency, speak, tone
from .test_bridge import agent_with_phone, into_queue
from .test_call import until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.linked_over_websocket
def test_a_call_goes_through_a_node_linked_over_websocket(node, hotline, make_user):
    assert isinstance(node.link, WebSocketLink)
    desk = node.agent_phone(answer_after=0.2)
    agent = agent_with_phone(make_user, desk)
    caller, session = into_queue(node, "13911223344")
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    node.phones.run(desk.acked.wait())
    since = len(caller.audio)
    node.phones.run(_say(desk), timeout=10)
    assert abs(dominant_frequency(caller.heard(since)[-4000:]) - 1000) < 20
    node.phones.run(caller.bye())
    until(lambda: Session.objects.get(pk=session.pk).state == "wrap_up")
    saved = until(lambda: CallRecording.objects.filter(session=session).first())
    assert saved.agent == agent and saved.seconds > 1.0
    assert until(lambda: MediaNodeStatus.objects.filter(name=node.name).first()).calls >= 0


async def _say(desk):
    await speak(desk, tone(1000, 1.2), desk.payload_type)
    await asyncio.sleep(0.3)


async def _exchange(url: str, token: str, messages: list) -> list:
    async with websockets.connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        origin="http://localhost",
    ) as socket:
        answers = []
        for message in messages:
            await socket.send(message if isinstance(message, str) else json.dumps(message))
            answers.append(json.loads(await asyncio.wait_for(socket.recv(), 5)))
        return answers


def test_bad_tokens_and_bad_messages_are_refused_in_chinese(live_server, hotline):
    url = live_server.url.replace("http://", "ws://") + "/ws/medianode/"
    answers = asyncio.run(
        _exchange(
            url,
            node_token(),
            [
                {"id": 1, "call": "flow_for", "args": {"number": "12345"}},
                {"id": 2, "call": "drop_tables", "args": {}},
                {"id": 3, "call": "status", "args": {"nobody": 1}},
                "{not json",
                {"id": 5, "call": "sip_ha1", "args": {"extension": "8999"}},
            ],
        )
    )
    assert answers[0]["result"]["start"] == "welcome"
    assert answers[1] == {"id": 2, "error": "未知的调用：drop_tables"}
    assert answers[2] == {"id": 3, "error": "调用 status 的参数不正确"}
    assert answers[3] == {"id": None, "error": "消息须为 JSON 对象"}
    assert answers[4] == {"id": 5, "result": None}

    async def refused():
        link = WebSocketLink(url, "not-the-token", wait=2.0)
        try:
            await link.flow_for("12345")
        finally:
            await link.close()

    with pytest.raises(LinkDown):
        asyncio.run(refused())


def test_hotline_run_carries_a_media_node_with_voice(hotline):
    """``hotline run --voice``: the embedded hotline answers SIP in the same process."""
    import socket

    from hotline.core.management.commands.run import VoiceThread

    voice = VoiceThread("127.0.0.1", 15790)
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.settimeout(5)
        probe.sendto(
            (
                b"OPTIONS sip:12345@127.0.0.1:15790 SIP/2.0\r\n"
                b"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKrun1\r\n"
                b"Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\n"
                b"To: <sip:12345@127.0.0.1>\r\nCall-ID: run1@t\r\nCSeq: 1 OPTIONS\r\n"
                b"Content-Length: 0\r\n\r\n"
            ),
            ("127.0.0.1", 15790),
        )
        assert probe.recv(2000).startswith(b"SIP/2.0 200 OK")
        probe.close()
        assert voice.address == "127.0.0.1:15790"
    finally:
        voice.stop()
