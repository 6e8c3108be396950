"""实时语音流: with ``--audio-fork``, a bridged call's audio reaches a WebSocket consumer
as it happens — a start message, 20 ms stereo frames (the caller left at 440 Hz, the
agent right at 1000 Hz, found by FFT), a stop message — and a consumer that is away
costs the call nothing."""

import asyncio
import json

import numpy as np
import pytest
import websockets

from hotline.contact.models import Session

from .phone import dominant_frequency, speak, tone
from .test_bridge import agent_with_phone, into_queue
from .test_call import loud, until

pytestmark = pytest.mark.django_db(transaction=True)


class Consumer:
    """A speech-recognition service stand-in: a WebSocket server that keeps what it gets."""

    def __init__(self):
        self.texts: list[dict] = []
        self.frames: list[bytes] = []
        self.closed = asyncio.Event()

    async def start(self):
        self.server = await websockets.serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/asr"
        return self

    async def _handle(self, socket):
        async for message in socket:
            if isinstance(message, bytes):
                self.frames.append(message)
            else:
                self.texts.append(json.loads(message))
        self.closed.set()


def test_a_bridged_call_is_streamed_live_to_a_websocket_consumer(node, hotline, make_user):
    consumer = node.phones.run(Consumer().start())
    node.config.audio_fork = consumer.url
    desk = node.agent_phone(answer_after=0.2)
    agent = agent_with_phone(make_user, desk)
    caller, session = into_queue(node, "13912340000")
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    node.phones.run(desk.acked.wait())

    start = until(lambda: consumer.texts and consumer.texts[0])
    assert start == {
        "event": "start",
        "session": session.pk,
        "call": None,
        "agent": agent.pk,
        "sample_rate": 8000,
        "channels": 2,
        "encoding": "pcm_s16le",
        "frame_ms": 20,
    }
    heard_before = len(consumer.frames)
    node.phones.run(_both_speak(caller, desk), timeout=10)
    # live: the frames arrive while the call goes on
    until(lambda: len(consumer.frames) >= heard_before + 60, timeout=5)
    node.phones.run(caller.bye())
    node.phones.run(consumer.closed.wait(), timeout=10)

    stop = consumer.texts[-1]
    assert stop["event"] == "stop" and stop["dropped"] == 0
    assert stop["frames"] == len(consumer.frames)
    assert {len(frame) for frame in consumer.frames} == {640}  # 160 samples × 2 × 16 bit
    both = np.frombuffer(b"".join(consumer.frames), dtype="<i2").reshape(-1, 2)
    assert loud(both[:, 0]) and abs(dominant_frequency(both[:, 0]) - 440) < 20
    assert abs(dominant_frequency(both[:, 1]) - 1000) < 20
    node.phones.run(_stop(consumer))


async def _both_speak(caller, desk):
    await asyncio.gather(speak(caller, tone(440, 1.5)), speak(desk, tone(1000, 1.5), 0))


async def _stop(consumer):
    consumer.server.close()
    await consumer.server.wait_closed()


def test_a_consumer_that_is_away_costs_the_call_nothing(node, hotline, make_user):
    node.config.audio_fork = "ws://127.0.0.1:9/asr"  # nobody listens there
    desk = node.agent_phone(answer_after=0.2)
    agent_with_phone(make_user, desk)
    caller, session = into_queue(node, "13912340001")
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    node.phones.run(desk.acked.wait())
    since = len(caller.audio)
    node.phones.run(speak(desk, tone(1000, 1.2), 0), timeout=10)
    node.phones.run(asyncio.sleep(0.3))
    assert abs(dominant_frequency(caller.heard(since)[-4000:]) - 1000) < 20
    node.phones.run(caller.bye())
