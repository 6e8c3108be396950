"""Calls the node places (:class:`PhoneLeg`) and the legs that hear each other
(:class:`Bridge`).

A leg rings an agent's phone (坐席话机) for a call offered to the agent, or — for a
callback (回拨) — the agent's phone first and then the citizen over the trunk, showing
the hotline's number (号码隐藏). A bridge passes each 20 ms frame from one side to the
other untouched (both sides use one codec: the node offers only that one) and records
both, left and right. When a third party joins (a supervisor listening, whispering or
barging in; an outside number in a 三方通话) the bridge mixes instead, as ``SPEAKS_TO``
says.
"""

import asyncio
import uuid

import numpy as np
from aiosipua.headers import parse_address

from . import prompts, recording, sip
from .rtp import FRAME_BYTES, SILENCE, Player, RtpStream

# Who hears a party who joined a call, by how it joined (``CallParty.Mode``): the caller,
# the agent, or both. Every party hears everyone but itself; the recording's right
# channel is what the agent hears besides the caller.
SPEAKS_TO = {
    "listen": frozenset(),  # 监听
    "whisper": frozenset({"agent"}),  # 耳语: only the agent hears the supervisor
    "barge": frozenset({"caller", "agent"}),  # 强插
    "three_way": frozenset({"caller", "agent"}),  # 三方通话 (12345–110 联动)
    "transfer": frozenset({"caller", "agent"}),  # 转接: the agent then leaves
    "consult": frozenset({"agent"}),  # 咨询: the caller holds (music) meanwhile
}
# An outside party the caller talks on with when the agent leaves; the others (a
# supervisor) leave with the agent.
STAYS_WITH_CALLER = frozenset({"three_way", "transfer"})


class _Codec:
    """G.711 ⇄ linear by table lookup: one frame costs two numpy indexings."""

    _tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def tables(cls, payload_type: int) -> tuple[np.ndarray, np.ndarray]:
        if payload_type not in cls._tables:
            to_linear = prompts.decode(bytes(range(256)), payload_type).astype(np.int32)
            every = np.arange(-32768, 32768, dtype=np.int16)
            to_g711 = np.frombuffer(prompts.encode(every, payload_type), dtype=np.uint8)
            cls._tables[payload_type] = (to_linear, to_g711)
        return cls._tables[payload_type]


def _linear(frame: bytes, table: np.ndarray) -> np.ndarray:
    samples = table[np.frombuffer(frame[:FRAME_BYTES], dtype=np.uint8)]
    if len(samples) < FRAME_BYTES:  # a short frame: the rest is silence
        samples = np.concatenate([samples, np.zeros(FRAME_BYTES - len(samples), np.int32)])
    return samples


def _g711(samples: np.ndarray, table: np.ndarray) -> bytes:
    index = np.clip(samples, -32768, 32767) + 32768
    return table[index].tobytes()


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
        party_id: int | None = None,
    ):
        self.uri = uri
        target = parse_address(f"<{uri}>").uri
        self.addr = (target.host, target.port or 5060)
        self.payload_type = payload_type
        self.from_user = from_user or "anonymous"
        self.session_id, self.agent_id = session_id, agent_id
        self.offer = offer  # a contact-center offer: an unanswered phone gives it back
        self.party_id = party_id  # a party joining a call (CallParty), not its agent
        self.headers = headers or {}
        self.call_id = f"{uuid.uuid4().hex}@hotline"
        self.cseq = 1  # our requests in the dialog: INVITE 1, then NOTIFY, BYE …
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
    ``b``), filed with ``session_id`` and ``agent_id`` when it closes — and the parties
    who joined (``join``). Without the agent (``b`` None: it left the caller with an
    outside party) the caller and the parties go on."""

    def __init__(
        self,
        a: RtpStream,
        b: RtpStream,
        *,
        session_id: int | None,
        agent_id,
        call_id: str,
        outbound_id: int | None = None,
    ):
        from django.utils import timezone

        self.a, self.b = a, b
        self.session_id, self.agent_id = session_id, agent_id
        self.outbound_id = outbound_id  # the OutboundCall the node placed, if it did
        self.started = timezone.now()
        owner = str(session_id) if session_id is not None else f"call{outbound_id}"
        self.recorder = recording.Recorder(
            recording.path_for(owner, self.started, call_id), a.payload_type
        )
        self.closed = False
        self.fork = None  # 实时语音流 (stream.AudioFork): what the recording gets, live
        self.hold_music: Player | None = None  # 保持: ``a`` hears this, ``b`` silence
        self.b: RtpStream | None
        self.parties: dict[int, tuple[RtpStream, str]] = {}  # CallParty id → stream, mode
        for stream in (a, b):
            self._listen(stream)

    @staticmethod
    def _listen(stream: RtpStream) -> None:
        stream.inbox.clear()
        stream.keep_audio = True

    def join(self, party_id: int, stream: RtpStream, mode: str) -> None:
        self._listen(stream)
        self.parties[party_id] = (stream, mode)

    def set_mode(self, party_id: int, mode: str) -> None:
        if party_id in self.parties:
            self.parties[party_id] = (self.parties[party_id][0], mode)

    def leave(self, party_id: int) -> None:
        stream, _ = self.parties.pop(party_id, (None, ""))
        if stream is not None:
            stream.keep_audio = False

    def drop_agent(self) -> None:
        """The agent left (转接 to an outside party, or hung up in a 三方通话)."""
        if self.b is not None:
            self.b.keep_audio = False
            self.b = None

    @property
    def outside_parties(self) -> bool:
        """Someone the caller talks on with when the agent leaves (``STAYS_WITH_CALLER``)."""
        return any(mode in STAYS_WITH_CALLER for _, mode in self.parties.values())

    def exchange(self) -> None:
        """One tick: each side hears what the other sent since the last one — or, on hold,
        the caller hears music, the agent silence, and neither is passed on or recorded."""
        silence = SILENCE[self.a.payload_type]
        from_a = self.a.take()
        from_b = self.b.take() if self.b is not None else silence
        if self.hold_music is not None:  # the caller hears music and nothing else
            self.a.send(self.hold_music.frame())
            if self.parties:  # … while the agent talks with a colleague (咨询)
                self._mix(silence, from_b, to_caller=False)
                return
            for stream in self._others():
                stream.take()
                stream.send(silence)
            self._keep(silence, silence)
            return
        if not self.parties and self.b is not None:  # two people: frames pass untouched
            self.b.send(from_a)
            self.a.send(from_b)
            self._keep(from_a, from_b)
            return
        self._mix(from_a, from_b)

    def _others(self):
        if self.b is not None:
            yield self.b
        for stream, _ in self.parties.values():
            yield stream

    def _mix(self, from_a: bytes, from_b: bytes, *, to_caller: bool = True) -> None:
        """Three or more: decode, sum what each one hears (``SPEAKS_TO``), encode."""
        to_linear, to_g711 = _Codec.tables(self.a.payload_type)
        caller, agent = _linear(from_a, to_linear), _linear(from_b, to_linear)
        voices = {
            key: (stream, _linear(stream.take(), to_linear), SPEAKS_TO[mode])
            for key, (stream, mode) in self.parties.items()
        }
        heard_by_caller, besides_caller, everyone = agent.copy(), agent.copy(), caller + agent
        for _, voice, speaks_to in voices.values():
            everyone = everyone + voice
            if "caller" in speaks_to:
                heard_by_caller += voice
            if "agent" in speaks_to:
                besides_caller += voice
        if to_caller:
            self.a.send(_g711(heard_by_caller, to_g711))
        if self.b is not None:  # the agent hears the caller and whoever speaks to it
            self.b.send(_g711(caller + besides_caller - agent, to_g711))
        for stream, voice, _ in voices.values():
            stream.send(_g711(everyone - voice, to_g711))
        self._keep(from_a, _g711(besides_caller, to_g711))

    def _keep(self, caller: bytes, agent_side: bytes) -> None:
        """The recording — and the live stream, when the call is forked — get each tick."""
        self.recorder.add(caller, agent_side)
        if self.fork is not None:
            self.fork.feed(caller, agent_side)

    def close(self) -> tuple[float, int] | None:
        """Stop passing audio and finish the recording: (seconds, bytes); None if closed."""
        if self.closed:
            return None
        self.closed = True
        for stream in (self.a, *self._others()):
            stream.keep_audio = False
            stream.inbox.clear()
        self.parties.clear()
        if self.fork is not None:
            self.fork.close()
        return self.recorder.close()
