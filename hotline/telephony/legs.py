"""Calls the node places (:class:`PhoneLeg`) and two legs that hear each other
(:class:`Bridge`).

A leg rings an agent's phone (坐席话机) for a call offered to the agent, or — for a
callback (回拨) — the agent's phone first and then the citizen over the trunk, showing
the hotline's number (号码隐藏). A bridge passes each 20 ms frame from one side to the
other untouched (both sides use one codec: the node offers only that one) and records
both, left and right.
"""

import asyncio
import uuid

from aiosipua.headers import parse_address

from . import recording, sip
from .rtp import SILENCE, Player, RtpStream


class PhoneLeg:
    """One call placed by the node (it is the UAC). ``done`` is set once the leg is over
    and the platform has been told (refused, rang out, cancelled, hung up)."""

    RING_LIMIT = 60.0  # the queue's offer timeout takes an offer back sooner; a cap anyway

    def __init__(
        self,
        uri: str,
        *,
        payload_type: int,
        from_user: str,
        session_id: int | None,
        agent_id: int | None = None,
        offer: bool = False,
        headers: dict | None = None,
    ):
        self.uri = uri
        target = parse_address(f"<{uri}>").uri
        self.addr = (target.host, target.port or 5060)
        self.payload_type = payload_type
        self.from_user = from_user or "anonymous"
        self.session_id, self.agent_id = session_id, agent_id
        self.offer = offer  # a contact-center offer: an unanswered phone gives it back
        self.headers = headers or {}
        self.call_id = f"{uuid.uuid4().hex}@hotline"
        self.local_tag = sip.new_tag()
        self.branch = sip.new_branch()
        self.from_value = ""
        self.to_value = f"<{uri}>"  # with the far end's tag once it answers
        self.remote_target = uri
        self.state = "ringing"  # → answered → ended
        self.cancelled = False  # stop ringing (the offer was taken back, the caller left)
        self.ended_by = ""  # "remote" when the far end hung up
        self.failure = ""  # why it was not answered (status code and reason)
        self.stream: RtpStream | None = None
        self.player: Player | None = None  # what it hears while not bridged (callbacks)
        self.bridge: Bridge | None = None
        self.sdp = b""
        self.heard = asyncio.Event()  # any response to the INVITE (stops its retransmission)
        self.final: asyncio.Future = asyncio.get_running_loop().create_future()
        self.done = asyncio.Event()

    @property
    def bridged(self) -> bool:
        return self.bridge is not None and not self.bridge.closed


class Bridge:
    """Two streams that hear each other, recorded as one stereo WAV (left ``a``, right
    ``b``), filed with ``session_id`` and ``agent_id`` when it closes."""

    def __init__(self, a: RtpStream, b: RtpStream, *, session_id: int, agent_id, call_id: str):
        from django.utils import timezone

        self.a, self.b = a, b
        self.session_id, self.agent_id = session_id, agent_id
        self.started = timezone.now()
        self.recorder = recording.Recorder(
            recording.path_for(session_id, self.started, call_id), a.payload_type
        )
        self.closed = False
        self.hold_music: Player | None = None  # 保持: ``a`` hears this, ``b`` silence
        for stream in (a, b):
            stream.inbox.clear()
            stream.keep_audio = True

    def exchange(self) -> None:
        """One tick: each side hears what the other sent since the last one — or, on hold,
        the caller hears music, the agent silence, and neither is passed on or recorded."""
        from_a, from_b = self.a.take(), self.b.take()
        if self.hold_music is not None:
            silence = SILENCE[self.a.payload_type]
            self.a.send(self.hold_music.frame())
            self.b.send(silence)
            self.recorder.add(silence, silence)
            return
        self.b.send(from_a)
        self.a.send(from_b)
        self.recorder.add(from_a, from_b)

    def close(self) -> tuple[float, int] | None:
        """Stop passing audio and finish the recording: (seconds, bytes); None if closed."""
        if self.closed:
            return None
        self.closed = True
        for stream in (self.a, self.b):
            stream.keep_audio = False
            stream.inbox.clear()
        return self.recorder.close()
