"""实时语音流: a bridged call's audio forked, as it happens, to a WebSocket consumer — a
speech-recognition service, a quality-check robot — the way call-center switches fork
media (FreeSWITCH's mod_audio_fork): the node connects as a client to the configured
URL (``hotline medianode --audio-fork ws://…``), one connection per bridged call.

On the wire:

1. a text message, JSON: ``{"event": "start", "session": …, "call": …, "agent": …,
   "sample_rate": 8000, "channels": 2, "encoding": "pcm_s16le", "frame_ms": 20}``
   (``session`` is the session's id, ``call`` the placed call's for an order's call);
2. binary messages, one per 20 ms: 160 stereo samples, 16-bit little-endian,
   interleaved — left the caller, right the agent (with whoever the agent hears: a
   whisper, a barge, 110), exactly what the recording holds;
3. a text message ``{"event": "stop", "frames": N, "dropped": M}``, then the close.

A consumer that is slow or away never slows the call: frames wait in a bounded queue
(5 s) and are dropped, counted, beyond it; a URL that does not answer is logged once.
"""

import asyncio
import contextlib
import json
import logging

import numpy as np
import websockets

from . import prompts

log = logging.getLogger(__name__)

BACKLOG = 250  # frames (5 s) a slow consumer may fall behind before frames are dropped


class AudioFork:
    def __init__(self, url: str, payload_type: int, meta: dict):
        self.url = url
        self.payload_type = payload_type
        self.meta = meta
        self.frames = 0
        self.dropped = 0
        self._queue: asyncio.Queue = asyncio.Queue(BACKLOG + 1)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def feed(self, left: bytes, right: bytes) -> None:
        """One tick's two G.711 frames (called by the bridge's ticker; never blocks)."""
        caller = prompts.decode(left, self.payload_type)
        agent = prompts.decode(right, self.payload_type)
        stereo = np.zeros(2 * max(len(caller), len(agent)), dtype="<i2")
        stereo[0 : 2 * len(caller) : 2] = caller
        stereo[1 : 2 * len(agent) : 2] = agent
        if self._queue.qsize() >= BACKLOG:
            self.dropped += 1
            return
        self._queue.put_nowait(stereo.tobytes())
        self.frames += 1

    def close(self) -> None:
        """The call is over: what is queued goes out, then ``stop`` and the close."""
        self._queue.put_nowait(None)

    async def _run(self) -> None:
        try:
            async with websockets.connect(self.url, open_timeout=5, max_size=None) as socket:
                await socket.send(json.dumps({"event": "start", **self.meta}))
                while (chunk := await self._queue.get()) is not None:
                    await socket.send(chunk)
                await socket.send(
                    json.dumps({"event": "stop", "frames": self.frames, "dropped": self.dropped})
                )
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            log.warning("实时语音流 %s 连接失败或中断：%s", self.url, error)
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:  # nobody will read them
                    self._queue.get_nowait()
