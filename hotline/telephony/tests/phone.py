"""A test phone: a small SIP user agent (UAC) on loopback that speaks the wire protocol
to the media node — INVITE with an SDP offer (retransmitted per RFC 3261 timer A until a
response comes), ACK, BYE, CANCEL, OPTIONS, raw datagrams — and an RTP socket that
records what it hears and sends RFC 4733 digits paced every 20 ms."""

import asyncio
import contextlib
import hashlib
import random
import struct
import time

import numpy as np
from aiosipua import SipMessage, SipRequest, SipResponse, parse_sdp

from hotline.telephony import prompts

HOST = "127.0.0.1"


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_data):
        self.on_data = on_data

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.on_data(data, addr)


class Phone:
    def __init__(self, node_port: int, number: str = "13800138000", event_type: int = 96):
        self.node = (HOST, node_port)
        self.number = number
        self.event_type = event_type
        self.messages: list[SipMessage] = []  # every SIP message received, in order
        self.audio: list[tuple[int, bytes]] = []  # (payload type, payload) received
        self.arrived = asyncio.Event()
        self.call_id = f"{random.getrandbits(64):x}@test"
        self.tag = f"{random.getrandbits(32):x}"
        self.cseq = 1
        self.to_header = ""
        self.invite: bytes = b""
        self.rtp_remote = None

    async def open(self):
        loop = asyncio.get_running_loop()
        self.sip, _ = await loop.create_datagram_endpoint(
            lambda: _Socket(self._on_sip), local_addr=(HOST, 0)
        )
        self.rtp, _ = await loop.create_datagram_endpoint(
            lambda: _Socket(self._on_rtp), local_addr=(HOST, 0)
        )
        self.sip_port = self.sip.get_extra_info("sockname")[1]
        self.rtp_port = self.rtp.get_extra_info("sockname")[1]
        self.ssrc, self.seq, self.ts = random.getrandbits(32), 1, 1000
        return self

    def close(self):
        self.sip.close()
        self.rtp.close()

    # --- receiving ---------------------------------------------------------------------------

    def _on_sip(self, data, addr):
        message = SipMessage.parse(data)
        self.messages.append(message)
        self.arrived.set()
        if isinstance(message, SipRequest) and message.method == "BYE":
            self.send(self._reply(message, 200, "OK"))

    def _on_rtp(self, data, addr):
        self.audio.append((data[1] & 0x7F, data[12:]))

    async def wait_for(self, predicate, timeout: float = 10.0):
        """The first received message that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        index = 0
        while True:
            while index < len(self.messages):
                if predicate(self.messages[index]):
                    return self.messages[index]
                index += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no such SIP message; got {self.summary()}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)

    def summary(self) -> list[str]:
        return [
            f"{m.status_code} {m.cseq.method}" if isinstance(m, SipResponse) else m.method
            for m in self.messages
        ]

    def responses(self, code: int, method: str = "INVITE") -> list[SipResponse]:
        return [
            m
            for m in self.messages
            if isinstance(m, SipResponse) and m.status_code == code and m.cseq.method == method
        ]

    def heard(self, since: int = 0) -> np.ndarray:
        """The audio received so far (from packet ``since``), decoded."""
        chunks = [prompts.decode(p, pt) for pt, p in self.audio[since:] if pt in (0, 8)]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    # --- sending -----------------------------------------------------------------------------

    def send(self, data):
        self.sip.sendto(data if isinstance(data, bytes) else data.encode(), self.node)

    def _headers(self, method: str, branch: str, cseq: int, to: str) -> str:
        return (
            f"Via: SIP/2.0/UDP {HOST}:{self.sip_port};branch={branch};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:{self.number}@{HOST}>;tag={self.tag}\r\n"
            f"To: {to}\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {cseq} {method}\r\n"
            f"Contact: <sip:{self.number}@{HOST}:{self.sip_port}>\r\n"
        )

    def offer(self, formats=(0, 8)) -> str:
        lines = [
            "v=0",
            f"o=phone 1 1 IN IP4 {HOST}",
            "s=phone",
            f"c=IN IP4 {HOST}",
            "t=0 0",
            f"m=audio {self.rtp_port} RTP/AVP {' '.join(map(str, formats))} {self.event_type}",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            f"a=rtpmap:{self.event_type} telephone-event/8000",
            f"a=fmtp:{self.event_type} 0-16",
            "a=sendrecv",
        ]
        return "\r\n".join(lines) + "\r\n"

    def invite_bytes(self, dialed: str = "12345", branch: str | None = None, sdp=None) -> bytes:
        self.branch = branch or f"z9hG4bK{random.getrandbits(48):x}"
        self.to_header = f"<sip:{dialed}@{HOST}:{self.node[1]}>"
        body = self.offer() if sdp is None else sdp
        return (
            f"INVITE sip:{dialed}@{HOST}:{self.node[1]} SIP/2.0\r\n"
            + self._headers("INVITE", self.branch, self.cseq, self.to_header)
            + f"Content-Type: application/sdp\r\nContent-Length: {len(body.encode())}\r\n\r\n{body}"
        ).encode()

    async def call(self, dialed: str = "12345", *, sdp=None) -> SipResponse:
        """INVITE (timer A retransmissions until any response), then the final response;
        a 2xx is ACKed and its SDP read."""
        self.invite = self.invite_bytes(dialed, sdp=sdp)
        self.send(self.invite)
        interval = 0.5
        while not self.responses_any("INVITE"):
            try:
                await asyncio.wait_for(self.arrived.wait(), interval)
            except TimeoutError:
                self.send(self.invite)
                interval *= 2
        final = await self.wait_for(
            lambda m: (
                isinstance(m, SipResponse) and m.cseq.method == "INVITE" and m.status_code >= 200
            )
        )
        self.ack(final)
        if final.status_code == 200:
            sdp = parse_sdp(final.text)
            self.rtp_remote = sdp.rtp_address
            self.answer_sdp = sdp
        return final

    def responses_any(self, method: str) -> bool:
        return any(isinstance(m, SipResponse) and m.cseq.method == method for m in self.messages)

    def ack(self, final: SipResponse) -> None:
        self.to_header = final.get_header("To")
        branch = self.branch if final.status_code >= 300 else f"z9hG4bK{random.getrandbits(48):x}"
        self.send(
            f"ACK sip:12345@{HOST}:{self.node[1]} SIP/2.0\r\n"
            + self._headers("ACK", branch, self.cseq, self.to_header)
            + "Content-Length: 0\r\n\r\n"
        )

    async def bye(self) -> SipResponse:
        self.cseq += 1
        branch = f"z9hG4bK{random.getrandbits(48):x}"
        self.send(
            f"BYE sip:12345@{HOST}:{self.node[1]} SIP/2.0\r\n"
            + self._headers("BYE", branch, self.cseq, self.to_header)
            + "Content-Length: 0\r\n\r\n"
        )
        return await self.wait_for(
            lambda m: isinstance(m, SipResponse) and m.cseq.method == "BYE" and m.status_code >= 200
        )

    def cancel(self) -> None:
        self.send(
            f"CANCEL sip:12345@{HOST}:{self.node[1]} SIP/2.0\r\n"
            + self._headers("CANCEL", self.branch, self.cseq, f"<sip:12345@{HOST}:{self.node[1]}>")
            + "Content-Length: 0\r\n\r\n"
        )

    async def options(self) -> SipResponse:
        branch = f"z9hG4bK{random.getrandbits(48):x}"
        self.send(
            f"OPTIONS sip:12345@{HOST}:{self.node[1]} SIP/2.0\r\n"
            + self._headers("OPTIONS", branch, 1, f"<sip:12345@{HOST}>")
            + "Content-Length: 0\r\n\r\n"
        )
        return await self.wait_for(
            lambda m: isinstance(m, SipResponse) and m.cseq.method == "OPTIONS"
        )

    def _reply(self, request: SipRequest, code: int, reason: str) -> bytes:
        lines = [f"SIP/2.0 {code} {reason}"]
        for name in ("Via", "From", "To", "Call-ID", "CSeq"):
            lines += [f"{name}: {v}" for v in request.headers.get(name)]
        return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()

    # --- media -------------------------------------------------------------------------------

    def _rtp(self, payload_type: int, payload: bytes, timestamp: int, marker: int = 0):
        header = struct.pack(
            "!BBHLL", 0x80, (marker << 7) | payload_type, self.seq & 0xFFFF, timestamp, self.ssrc
        )
        self.seq += 1
        self.rtp.sendto(header + payload, self.rtp_remote)

    async def press(self, digit: str, duration_ms: int = 100) -> None:
        """One key as RFC 4733 events: progress packets every 20 ms sharing the event's
        timestamp, then three end packets."""
        event = "0123456789*#".index(digit)
        timestamp = self.ts
        steps = duration_ms // 20
        for step in range(1, steps + 1):
            payload = struct.pack("!BBH", event, 10, step * 160)
            self._rtp(self.event_type, payload, timestamp, marker=int(step == 1))
            await asyncio.sleep(0.02)
        for _ in range(3):
            self._rtp(
                self.event_type, struct.pack("!BBH", event, 0x80 | 10, steps * 160), timestamp
            )
        self.ts += steps * 160 + 160


def tone(frequency: float, seconds: float, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * prompts.RATE)) / prompts.RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def dominant_frequency(samples: np.ndarray) -> float:
    """The strongest frequency in ``samples`` (Hz)."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    spectrum[0] = 0
    return float(np.argmax(spectrum) * prompts.RATE / len(samples))


async def speak(phone, samples: np.ndarray, payload_type: int = 0) -> None:
    """Send ``samples`` as G.711 frames paced every 20 ms (a phone's microphone)."""
    audio = prompts.encode(samples, payload_type)
    for start in range(0, len(audio), prompts.FRAME):
        phone._rtp(payload_type, audio[start : start + prompts.FRAME], phone.ts)
        phone.ts += prompts.FRAME
        await asyncio.sleep(0.02)


class AgentPhone:
    """An agent's desk phone (a UAS on loopback): rings on INVITE (180), picks up after
    ``answer_after`` seconds (200 with an SDP answer, repeated until the ACK) or refuses
    with ``refuse``; answers CANCEL (200, then 487) and BYE; hears and speaks RTP."""

    def __init__(self, answer_after: float | None = 0.3, refuse: int | None = None):
        self.answer_after = answer_after
        self.refuse = refuse
        self.messages: list[SipMessage] = []
        self.audio: list[tuple[int, bytes]] = []
        self.arrived = asyncio.Event()
        self.acked = asyncio.Event()
        self.invite: SipRequest | None = None
        self.tag = f"{random.getrandbits(32):x}"
        self.node = None
        self.rtp_remote = None
        self.cseq = 10
        self._final: bytes = b""

    open = Phone.open
    close = Phone.close
    wait_for = Phone.wait_for
    summary = Phone.summary
    heard = Phone.heard
    _rtp = Phone._rtp
    _reply = Phone._reply

    @property
    def uri(self) -> str:
        return f"sip:8001@{HOST}:{self.sip_port}"

    def requests(self, method: str) -> list[SipRequest]:
        return [m for m in self.messages if isinstance(m, SipRequest) and m.method == method]

    def _on_rtp(self, data, addr):
        self.audio.append((data[1] & 0x7F, data[12:]))

    def _on_sip(self, data, addr):
        message = SipMessage.parse(data)
        self.messages.append(message)
        self.arrived.set()
        if not isinstance(message, SipRequest):
            return
        self.node = addr
        if message.method == "INVITE" and self.invite is None:
            self.invite = message
            self.sip.sendto(self._answer(message, 180, "Ringing"), addr)
            if self.refuse:
                self._final = self._answer(message, self.refuse, "Busy Here")
                self.sip.sendto(self._final, addr)
            elif self.answer_after is not None:
                asyncio.get_running_loop().call_later(self.answer_after, self._pick_up)
        elif message.method == "INVITE":  # a retransmission
            if self._final:
                self.sip.sendto(self._final, addr)
        elif message.method == "ACK":
            self.acked.set()
        elif message.method == "CANCEL":
            self.sip.sendto(self._reply(message, 200, "OK"), addr)
            if not self._final:
                self._final = self._answer(self.invite, 487, "Request Terminated")
                self.sip.sendto(self._final, addr)
        elif message.method in ("BYE", "OPTIONS", "NOTIFY"):
            self.sip.sendto(self._reply(message, 200, "OK"), addr)

    def _answer(self, request: SipRequest, code: int, reason: str, body: str = "") -> bytes:
        lines = [f"SIP/2.0 {code} {reason}"]
        for name in ("Via", "From", "To", "Call-ID", "CSeq"):
            for value in request.headers.get(name):
                if name == "To" and ";tag=" not in value:
                    value += f";tag={self.tag}"
                lines.append(f"{name}: {value}")
        lines.append(f"Contact: <{self.uri}>")
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def _pick_up(self):
        if self._final:
            return  # cancelled meanwhile
        offer = parse_sdp(self.invite.text)
        self.rtp_remote = offer.rtp_address
        payload_type = int(offer.audio.formats[0])
        self.payload_type = payload_type
        body = (
            "\r\n".join(
                [
                    "v=0",
                    f"o=desk 1 1 IN IP4 {HOST}",
                    "s=desk",
                    f"c=IN IP4 {HOST}",
                    "t=0 0",
                    f"m=audio {self.rtp_port} RTP/AVP {payload_type}",
                    f"a=rtpmap:{payload_type} {'PCMU' if payload_type == 0 else 'PCMA'}/8000",
                    "a=sendrecv",
                ]
            )
            + "\r\n"
        )
        self._final = self._answer(self.invite, 200, "OK", body)
        asyncio.ensure_future(self._send_until_acked())

    async def _send_until_acked(self):
        interval = 0.5
        while not self.acked.is_set():
            self.sip.sendto(self._final, self.node)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.acked.wait(), interval)
            interval = min(interval * 2, 4)

    async def register(
        self, node_port: int, extension: str, password: str, expires: int = 3600
    ) -> SipResponse:
        """REGISTER with the node as ``extension``, answering its digest challenge as a
        desk phone does (RFC 2617 MD5, qop=auth); the final response."""
        node, call_id = (HOST, node_port), f"{random.getrandbits(64):x}@reg"
        uri = f"sip:{HOST}:{node_port}"

        def request(cseq: int, authorization: str = "") -> bytes:
            lines = [
                f"REGISTER {uri} SIP/2.0",
                f"Via: SIP/2.0/UDP {HOST}:{self.sip_port};branch=z9hG4bK{random.getrandbits(48):x};rport",
                "Max-Forwards: 70",
                f"From: <sip:{extension}@{HOST}>;tag={self.tag}",
                f"To: <sip:{extension}@{HOST}>",
                f"Call-ID: {call_id}",
                f"CSeq: {cseq} REGISTER",
                f"Contact: <sip:{extension}@{HOST}:{self.sip_port}>",
                f"Expires: {expires}",
                "User-Agent: TestDesk/1.0",
            ]
            if authorization:
                lines.append(f"Authorization: {authorization}")
            return ("\r\n".join([*lines, "Content-Length: 0", "", ""])).encode()

        def answer_to(cseq: int):
            return lambda m: (
                isinstance(m, SipResponse) and m.call_id == call_id and m.cseq.seq == cseq
            )

        self.sip.sendto(request(1), node)
        challenge = await self.wait_for(answer_to(1))
        if challenge.status_code != 401:
            return challenge
        asked = dict(
            (k, v.strip('"'))
            for k, v in (
                part.strip().split("=", 1)
                for part in challenge.get_header("WWW-Authenticate")[7:].split(",")
            )
        )
        md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731
        cnonce, nc = f"{random.getrandbits(32):08x}", "00000001"
        ha1, ha2 = md5(f"{extension}:{asked['realm']}:{password}"), md5(f"REGISTER:{uri}")
        response = md5(f"{ha1}:{asked['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        authorization = (
            f'Digest username="{extension}", realm="{asked["realm"]}", nonce="{asked["nonce"]}", '
            f'uri="{uri}", response="{response}", algorithm=MD5, cnonce="{cnonce}", qop=auth, nc={nc}'
        )
        self.sip.sendto(request(2, authorization), node)
        return await self.wait_for(answer_to(2))

    async def refer(self, target: str) -> SipResponse:
        """The phone's transfer key: REFER the call to ``target`` (RFC 3515)."""
        return await self._in_dialog("REFER", {"Refer-To": f"<{target}>"})

    async def hang_up(self) -> SipResponse:
        """BYE from the phone (the agent puts it down)."""
        return await self._in_dialog("BYE")

    async def _in_dialog(self, method: str, extra: dict | None = None) -> SipResponse:
        """A request of the phone's in the call's dialog; its final response."""
        invite = self.invite
        self.cseq += 1
        cseq = self.cseq
        lines = [
            f"{method} {invite.contact[0].uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:{self.sip_port};branch=z9hG4bK{random.getrandbits(48):x}",
            "Max-Forwards: 70",
            f"From: {invite.get_header('To')};tag={self.tag}",
            f"To: {invite.get_header('From')}",
            f"Call-ID: {invite.call_id}",
            f"CSeq: {cseq} {method}",
            *(f"{name}: {value}" for name, value in (extra or {}).items()),
            "Content-Length: 0",
        ]
        self.sip.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), self.node)
        return await self.wait_for(
            lambda m: (
                isinstance(m, SipResponse)
                and m.cseq.method == method
                and m.cseq.seq == cseq
                and m.status_code >= 200
            )
        )
