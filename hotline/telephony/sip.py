"""SIP for the media node, on aiosipua's message and SDP parsers.

The node does its own transaction handling (RFC 3261 §17) instead of aiosipua's
``SipUAS``, which 0.7.1 gets wrong in ways a trunk shows at once (see
docs/voice.md): a retransmitted request gets the last response again and never a second
dialog, a final response to INVITE is repeated until the ACK comes, and the answer
mirrors the telephone-event payload type the caller offered.
"""

import dataclasses
import logging
import random
import time

from aiosipua import SipMessage, SipRequest, SipResponse, parse_sdp
from aiosipua.message import missing_required_headers

log = logging.getLogger(__name__)

T1, T2 = 0.5, 4.0  # RFC 3261 timers (seconds)
TX_LIFETIME = 64 * T1  # how long a transaction's last response is kept for retransmissions
SERVER = "hotline-medianode"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER, UPDATE, REFER"
CODECS = {0: "PCMU/8000", 8: "PCMA/8000"}
EVENT_TYPE = 101  # our telephone-event payload type when the offer is ours


class BadRequest(ValueError):
    """A request the node cannot serve as it is: ``args`` are the reason for the log
    (Chinese) and for the 400's Warning header (ASCII, as the wire wants)."""

    @property
    def log_text(self) -> str:
        return self.args[0]

    @property
    def wire_text(self) -> str:
        return self.args[1] if len(self.args) > 1 else "bad request"


def new_tag() -> str:
    return f"{random.getrandbits(48):012x}"


def new_branch() -> str:
    return f"z9hG4bK-{random.getrandbits(64):016x}"


def parse(data: bytes) -> SipRequest | SipResponse:
    """A datagram as a SIP message; ``BadRequest`` when its headers cannot be trusted."""
    try:
        message = SipMessage.parse(data)
    except (ValueError, UnicodeError) as exc:
        raise BadRequest(f"无法解析：{exc}", "unparsable") from None
    if isinstance(message, SipRequest):
        missing = missing_required_headers(message)
        if missing:
            raise BadRequest(f"缺少头域 {', '.join(missing)}", f"missing {', '.join(missing)}")
        try:
            cseq = message.cseq
            tags = (message.from_addr, message.to_addr)
            message.via[0]  # noqa: B018 — parses the top Via
        except (ValueError, IndexError, AttributeError) as exc:
            raise BadRequest(f"头域格式错误：{exc}", "malformed header") from None
        if cseq is None or cseq.method.upper() != message.method.upper() or None in tags:
            raise BadRequest("CSeq 与方法不一致或缺少 From/To", "CSeq method mismatch")
    return message


def response(
    request: SipRequest,
    code: int,
    reason: str,
    *,
    to_tag: str | None = None,
    contact: str | None = None,
    body: bytes = b"",
    extra: dict | None = None,
) -> SipResponse:
    """A response to ``request``: its Via, From, To (with our tag), Call-ID and CSeq."""
    answer = SipResponse(status_code=code, reason_phrase=reason)
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for value in request.headers.get(name):
            if name == "To" and to_tag and ";tag=" not in value:
                value = f"{value};tag={to_tag}"
            answer.add_header(name, value)
    if contact:
        answer.set_header("Contact", contact)
    answer.set_header("Server", SERVER)
    for name, value in (extra or {}).items():
        answer.set_header(name, value)
    if body:
        answer.set_header("Content-Type", "application/sdp")
    answer.body = body
    return answer


def bad_request(data: bytes, reason: str) -> bytes | None:
    """A 400 for a request that parsed only partly: built from its raw header lines, so
    that the sender can match it; None when there is not even a Via to answer to."""
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    first, _, rest = text.partition("\n")
    if first.startswith("SIP/"):
        return None  # never answer a response
    keep = []
    for line in rest.split("\n"):
        if not line:
            break
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"):
            keep.append(line.strip())
    if not any(line.lower().startswith(("via", "v:")) for line in keep):
        return None
    phrase = reason.encode("ascii", errors="replace").decode().replace('"', "'")
    lines = [
        "SIP/2.0 400 Bad Request",
        *keep,
        f"Server: {SERVER}",
        f'Warning: 399 medianode "{phrase}"',
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


@dataclasses.dataclass
class Offer:
    """What the caller's SDP offers, and our choice from it."""

    address: tuple[str, int]
    payload_type: int  # 0 PCMU or 8 PCMA: the first of them in the caller's order
    event_type: int | None  # the caller's telephone-event payload type, mirrored


def read_offer(body: bytes) -> Offer | None:
    """The audio we can do with the caller's offer; None when there is none in common."""
    try:
        sdp = parse_sdp(body.decode("utf-8", errors="replace"))
    except (ValueError, IndexError) as exc:
        raise BadRequest(f"SDP 格式错误：{exc}", "malformed SDP") from None
    audio = sdp.audio
    if audio is None or sdp.rtp_address is None or not audio.port:
        return None
    names = {codec.payload_type: codec.encoding_name.lower() for codec in audio.codecs}
    chosen, event = None, None
    for fmt in audio.formats:
        if not fmt.isdigit():
            continue
        number = int(fmt)
        name = names.get(number, {0: "pcmu", 8: "pcma"}.get(number, ""))
        if chosen is None and name in ("pcmu", "pcma"):
            chosen = 0 if name == "pcmu" else 8
        if name == "telephone-event" and event is None:
            event = number
    if chosen is None:
        return None
    return Offer(sdp.rtp_address, chosen, event)


def answer_sdp(host: str, port: int, offer: Offer, session_id: int) -> bytes:
    formats = [str(offer.payload_type)]
    lines = [
        "v=0",
        f"o=hotline {session_id} {session_id} IN IP4 {host}",
        "s=hotline",
        f"c=IN IP4 {host}",
        "t=0 0",
    ]
    attributes = [f"a=rtpmap:{offer.payload_type} {CODECS[offer.payload_type]}"]
    if offer.event_type is not None:
        formats.append(str(offer.event_type))
        attributes += [
            f"a=rtpmap:{offer.event_type} telephone-event/8000",
            f"a=fmtp:{offer.event_type} 0-15",
        ]
    lines.append(f"m=audio {port} RTP/AVP {' '.join(formats)}")
    lines += attributes + ["a=ptime:20", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()


def offer_sdp(host: str, port: int, payload_type: int, session_id: int) -> bytes:
    """Our offer to an agent's phone: only the caller's codec (the bridge then passes
    frames through untouched) and telephone-event."""
    return answer_sdp(host, port, Offer((host, port), payload_type, EVENT_TYPE), session_id)


class ServerTransactions:
    """The last response of each server transaction, kept ``TX_LIFETIME`` so that a
    retransmitted request (same branch and method) gets it again instead of being
    served twice. Requests without an RFC 3261 branch are keyed by Call-ID, From tag
    and CSeq."""

    def __init__(self):
        self._last: dict[tuple, tuple[bytes | None, tuple, float]] = {}

    @staticmethod
    def key(request: SipRequest) -> tuple:
        branch = request.via[0].branch or ""
        method = request.method.upper()
        if branch.startswith("z9hG4bK"):
            return (branch, method)
        return (request.call_id, request.from_addr.tag, request.cseq.seq, method)

    def seen(self, request: SipRequest) -> tuple[bool, bytes | None, tuple | None]:
        entry = self._last.get(self.key(request))
        if entry is None:
            return False, None, None
        return True, entry[0], entry[1]

    def open(self, request: SipRequest, addr) -> None:
        self._last[self.key(request)] = (None, addr, time.monotonic() + TX_LIFETIME)

    def answered(self, request: SipRequest, data: bytes, addr) -> None:
        self._last[self.key(request)] = (data, addr, time.monotonic() + TX_LIFETIME)

    def sweep(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, _, until) in self._last.items() if until < now]:
            del self._last[key]
