"""The media node (媒体节点): one asyncio process owning SIP over UDP and RTP.

It answers trunk calls to the numbers that have an IVR flow, walks the caller through
the flow (``hotline.telephony.flow``) and talks to the platform through a
:class:`~hotline.telephony.link.PlatformLink`. One 20 ms ticker with absolute deadlines
sends every call's audio (the pattern measured in the voice-engine notes).
"""

import asyncio
import dataclasses
import logging
import socket
import time

from aiosipua import SipRequest, SipResponse
from aiosipua.headers import parse_address

from . import prompts, sip
from .flow import run_flow
from .link import PlatformLink
from .rtp import Player, PortPool, RtpStream

log = logging.getLogger("hotline.telephony.node")

TICK = 0.020


@dataclasses.dataclass
class NodeConfig:
    host: str = "0.0.0.0"
    port: int = 5080
    media_ip: str = ""  # the address written in SDP; default: the SIP host, else the route's
    rtp_low: int = 20000
    rtp_high: int = 21000
    answer_delay: float = 0.0  # seconds of ringing before the answer
    max_calls: int = 200  # well under the ~240 legs one process holds (measured)


class Call:
    """One inbound call leg: its dialog, its RTP stream and what it plays."""

    def __init__(self, node: "MediaNode", invite: SipRequest, addr, number: str):
        self.node = node
        self.invite = invite
        self.addr = addr  # where its SIP comes from (we answer and send there)
        self.call_id = invite.call_id
        self.remote_tag = invite.from_addr.tag
        self.local_tag = sip.new_tag()
        self.number = number
        caller = invite.from_addr.uri
        self.caller = (caller.user or "").split(";")[0][:30]
        contact = invite.contact
        self.remote_target = contact[0].uri if contact else caller
        self.local_cseq = 0
        self.state = "ringing"  # → answered → ended
        self.stream: RtpStream | None = None
        self.player: Player | None = None
        self.final: bytes | None = None  # our final response to the INVITE
        self.sdp = b""  # our SDP answer
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.barge_in = False  # a key stops the prompt (menus)
        self.task: asyncio.Task | None = None
        self.session_id: int | None = None
        self.acked = asyncio.Event()
        self.started = time.monotonic()

    @property
    def alive(self) -> bool:
        return self.state != "ended"

    def on_digit(self, digit: str) -> None:
        log.info("呼叫 %s 按键 %s", self.call_id, digit)
        self.digits.put_nowait(digit)
        if self.barge_in and self.player is not None:
            self.player.stop()

    # --- what the IVR does with a call -------------------------------------------------------

    async def play(self, samples_key: tuple, *, barge_in: bool = False) -> bool:
        """Play a prompt to the end (True) or until a key / the end of the call (False)."""
        if not self.alive:
            return False
        audio = await self.node.audio(samples_key, self.stream.payload_type)
        if barge_in and not self.digits.empty():
            return False  # typed ahead: the caller knows what to press
        self.barge_in = barge_in
        try:
            return await self.player.play(audio)
        finally:
            self.barge_in = False

    async def say(self, text: str, *, barge_in: bool = False) -> bool:
        return await self.play(("tts", text), barge_in=barge_in)

    async def next_digit(self, timeout: float) -> str | None:
        try:
            return await asyncio.wait_for(self.digits.get(), timeout)
        except TimeoutError:
            return None

    def clear_digits(self) -> None:
        while not self.digits.empty():
            self.digits.get_nowait()

    async def hangup(self) -> None:
        await self.node.hangup(self)


class MediaNode:
    def __init__(self, config: NodeConfig | None = None, link: PlatformLink | None = None):
        self.config = config or NodeConfig()
        self.link = link or PlatformLink()
        self.calls: dict[str, Call] = {}
        self.ports = PortPool(self.config.rtp_low, self.config.rtp_high)
        self.transactions = sip.ServerTransactions()
        self._client: dict[str, asyncio.Future] = {}  # our requests' branch → final response
        self._audio: dict[tuple, bytes] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._ticker: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self.stats = {"calls": 0, "late_ticks": 0, "bad_requests": 0}
        self.address: tuple[str, int] | None = None

    # --- life ----------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _SipProtocol(self), local_addr=(self.config.host, self.config.port)
        )
        self.address = self._transport.get_extra_info("sockname")[:2]
        self._ticker = asyncio.create_task(self._tick())
        log.info(
            "媒体节点已启动：SIP udp %s:%s，RTP %s–%s",
            *self.address,
            self.config.rtp_low,
            self.config.rtp_high,
        )

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            await self.hangup(call)
        for task in [self._ticker, *self._tasks]:
            if task:
                task.cancel()
        await asyncio.gather(
            *(t for t in [self._ticker, *self._tasks] if t), return_exceptions=True
        )
        if self._transport:
            self._transport.close()
        log.info("媒体节点已停止")

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("媒体节点任务出错", exc_info=task.exception())

    # --- the ticker ---------------------------------------------------------------------------

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        sweep_at = deadline
        while True:
            deadline += TICK
            for call in list(self.calls.values()):
                if call.state == "answered" and call.stream is not None:
                    call.stream.send(call.player.frame())
            now = loop.time()
            if now >= sweep_at:
                self.transactions.sweep()
                sweep_at = now + 1.0
            if deadline - now < -0.2:  # fell far behind (a stalled loop): do not burst
                self.stats["late_ticks"] += 1
                deadline = now
            await asyncio.sleep(max(0.0, deadline - now))

    # --- prompts --------------------------------------------------------------------------------

    async def audio(self, key: tuple, payload_type: int) -> bytes:
        """A prompt's G.711 bytes, rendered once (in a thread: espeak-ng takes a while)."""
        cached = self._audio.get((key, payload_type))
        if cached is None:
            kind, value = key
            render = {
                "tts": prompts.tts,
                "recording": prompts.recording,
                "hold": prompts.hold_music,
            }[kind]
            samples = await asyncio.get_running_loop().run_in_executor(None, render, value)
            cached = self._audio[(key, payload_type)] = prompts.encode(samples, payload_type)
        return cached

    # --- SIP in ---------------------------------------------------------------------------------

    def send(self, data: bytes, addr) -> None:
        if self._transport is not None:
            self._transport.sendto(data, addr)

    def reply(self, request: SipRequest, addr, code: int, reason: str, **kwargs) -> bytes:
        data = bytes(sip.response(request, code, reason, **kwargs))
        self.transactions.answered(request, data, addr)
        self.send(data, addr)
        return data

    def received(self, data: bytes, addr) -> None:
        if not data.strip():
            return  # keep-alive (CRLF)
        try:
            message = sip.parse(data)
        except sip.BadRequest as exc:
            self.stats["bad_requests"] += 1
            answer = sip.bad_request(data, exc.wire_text)
            log.warning(
                "来自 %s:%s 的 SIP 报文格式错误（%s）%s",
                *addr[:2],
                exc.log_text,
                "，已回 400" if answer else "，已丢弃",
            )
            if answer:
                self.send(answer, addr)
            return
        try:
            if isinstance(message, SipResponse):
                self._on_response(message)
            else:
                self._on_request(message, addr)
        except Exception:  # one bad packet must never take the node down
            log.exception("处理来自 %s:%s 的 SIP 报文出错", *addr[:2])

    def _on_request(self, request: SipRequest, addr) -> None:
        method = request.method.upper()
        if method == "ACK":
            return self._on_ack(request)
        seen, last, _ = self.transactions.seen(request)
        if seen:  # a retransmission: the same answer again, never a second dialog
            if last:
                self.send(last, addr)
            return
        self.transactions.open(request, addr)
        call = self.calls.get(request.call_id)
        in_dialog = request.to_addr.tag is not None
        if method == "INVITE" and not in_dialog:
            if call is not None and call.remote_tag == request.from_addr.tag:
                # the same INVITE again under a new branch (an SBC retrying): same answer
                if call.final:
                    self.send(call.final, addr)
                    self.transactions.answered(request, call.final, addr)
                return
            return self._on_invite(request, addr)
        if method == "CANCEL":
            return self._on_cancel(request, addr, call)
        if method == "OPTIONS" and not in_dialog:
            return self.reply(
                request, addr, 200, "OK", extra={"Allow": ALLOW_HEADER, "Accept": "application/sdp"}
            )
        if in_dialog and (call is None or request.to_addr.tag != call.local_tag):
            return self.reply(request, addr, 481, "Call/Transaction Does Not Exist")
        if method == "BYE" and call is not None:
            self.reply(request, addr, 200, "OK")
            return self._end(call, "来电人挂机")
        if method == "INVITE" and call is not None:  # re-INVITE (hold, refresh): same media
            return self.reply(request, addr, 200, "OK", contact=self.contact(), body=call.sdp)
        if method in ("OPTIONS", "INFO") and call is not None:
            return self.reply(request, addr, 200, "OK")
        if call is None and method in ("BYE", "INFO"):
            return self.reply(request, addr, 481, "Call/Transaction Does Not Exist")
        return self.reply(request, addr, 405, "Method Not Allowed", extra={"Allow": ALLOW_HEADER})

    def contact(self) -> str:
        host, port = self.address
        return f"<sip:medianode@{self.media_ip_for(None) if host == '0.0.0.0' else host}:{port}>"

    def media_ip_for(self, addr) -> str:
        if self.config.media_ip:
            return self.config.media_ip
        host = self.address[0] if self.address else self.config.host
        if host not in ("0.0.0.0", ""):
            return host
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:  # the local address the kernel would use towards the caller
            probe.connect((addr[0] if addr else "192.0.2.1", 9))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"
        finally:
            probe.close()

    def _on_invite(self, request: SipRequest, addr) -> None:
        self.send(bytes(sip.response(request, 100, "Trying")), addr)
        self.transactions.answered(request, bytes(sip.response(request, 100, "Trying")), addr)
        number = (parse_address(f"<{request.uri}>").uri.user or "").split(";")[0]
        call = Call(self, request, addr, number)
        self.calls[call.call_id] = call
        self.stats["calls"] += 1
        self._spawn(self._answer(call, request, addr))

    async def _answer(self, call: Call, request: SipRequest, addr) -> None:
        def refuse(code: int, reason: str, why: str) -> None:
            log.info("拒绝呼叫 %s → %s：%s", call.caller, call.number, why)
            call.final = self.reply(request, addr, code, reason, to_tag=call.local_tag)
            call.state = "ended"
            self._wait_ack(call)

        if len(self.calls) > self.config.max_calls:
            return refuse(503, "Service Unavailable", "节点呼叫数已满")
        try:
            offer = sip.read_offer(request.body) if request.body else None
        except sip.BadRequest as exc:
            return refuse(400, "Bad Request", exc.log_text)
        if offer is None:
            return refuse(488, "Not Acceptable Here", "没有可用的 G.711 编码")
        flow = await self.link.flow_for(call.number)
        if flow is None:
            return refuse(404, "Not Found", f"号码 {call.number} 没有启用的 IVR 流程")
        if not call.alive:
            return  # cancelled while we looked
        try:
            port = self.ports.take()
        except RuntimeError:
            return refuse(503, "Service Unavailable", "RTP 端口已用尽")
        stream = RtpStream(port, offer.payload_type, offer.event_type, call.on_digit)
        try:
            await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: stream, local_addr=(self.config.host, port)
            )
        except OSError:
            self.ports.give_back(port)
            return refuse(503, "Service Unavailable", f"RTP 端口 {port} 不可用")
        stream.remote = offer.address
        call.stream, call.player = stream, Player(offer.payload_type)
        call.sdp = sip.answer_sdp(self.media_ip_for(addr), port, offer, int(time.time()))
        self.reply(request, addr, 180, "Ringing", to_tag=call.local_tag, contact=self.contact())
        if self.config.answer_delay:
            await asyncio.sleep(self.config.answer_delay)
        if not call.alive:
            return
        call.final = self.reply(
            request, addr, 200, "OK", to_tag=call.local_tag, contact=self.contact(), body=call.sdp
        )
        call.state = "answered"
        log.info("接听 %s → %s（%s，RTP %s）", call.caller, call.number, call.call_id, port)
        self._wait_ack(call)
        call.task = self._spawn(self._walk(call, flow))

    def _wait_ack(self, call: Call) -> None:
        """Repeat the final response to INVITE (T1 doubling to T2) until the ACK; a call
        answered but never ACKed is hung up after 64·T1 (RFC 3261 §13.3.1.4)."""

        async def repeat():
            interval, deadline = sip.T1, time.monotonic() + sip.TX_LIFETIME
            while time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(call.acked.wait(), interval)
                    return
                except TimeoutError:
                    self.send(call.final, call.addr)
                    interval = min(interval * 2, sip.T2)
            if call.alive:
                log.warning("呼叫 %s 未收到 ACK，挂断", call.call_id)
                await self.hangup(call)
            else:
                self._forget(call)

        self._spawn(repeat())

    def _on_ack(self, request: SipRequest) -> None:
        call = self.calls.get(request.call_id)
        if call is not None and request.cseq.seq == call.invite.cseq.seq:
            call.acked.set()
            if not call.alive:
                self._forget(call)

    def _on_cancel(self, request: SipRequest, addr, call: Call | None) -> None:
        invite_branch = request.via[0].branch
        if call is None or call.invite.via[0].branch != invite_branch:
            return self.reply(request, addr, 481, "Call/Transaction Does Not Exist")
        self.reply(request, addr, 200, "OK")
        if call.state == "ringing":
            call.final = self.reply(
                call.invite, addr, 487, "Request Terminated", to_tag=call.local_tag
            )
            log.info("呼叫 %s 在接听前取消", call.call_id)
            self._end(call, "接听前取消")
            self._wait_ack(call)

    def _on_response(self, response: SipResponse) -> None:
        via = response.via
        branch = via[0].branch if via else None
        future = self._client.get(branch or "")
        if future is not None and response.status_code >= 200 and not future.done():
            future.set_result(response.status_code)

    # --- ending calls ---------------------------------------------------------------------------

    def _end(self, call: Call, why: str) -> None:
        """The call is over for us (its SIP may still finish): stop its media and its IVR,
        tell the platform if the caller was waiting."""
        if call.state == "ended" and call.stream is None:
            return
        was_answered = call.state == "answered"
        call.state = "ended"
        if call.player is not None:
            call.player.stop()
        if call.stream is not None:
            call.stream.close()
            self.ports.give_back(call.stream.port)
            call.stream = None
        if call.task is not None and call.task is not asyncio.current_task():
            call.task.cancel()
        if call.session_id is not None:
            self._spawn(self.link.left(call.session_id))
        if was_answered or call.acked.is_set():
            self._forget(call)
        log.info("呼叫 %s 结束：%s（%.1f 秒）", call.call_id, why, time.monotonic() - call.started)

    def _forget(self, call: Call) -> None:
        if self.calls.get(call.call_id) is call:
            del self.calls[call.call_id]

    async def hangup(self, call: Call) -> None:
        """We end the call: BYE, repeated (T1 doubling) until answered or 64·T1."""
        if not call.alive:
            return
        answered = call.state == "answered"
        self._end(call, "节点挂机")
        if not answered:
            return
        call.local_cseq = max(call.local_cseq, 1) + 1
        branch = sip.new_branch()
        host, port = self.address
        target = call.remote_target
        uri = f"sip:{target.user + '@' if target.user else ''}{target.host}" + (
            f":{target.port}" if target.port else ""
        )
        from_value = call.invite.get_header("To")
        if ";tag=" not in from_value:
            from_value += f";tag={call.local_tag}"
        bye = SipRequest(method="BYE", uri=uri)
        bye.add_header(
            "Via", f"SIP/2.0/UDP {self.media_ip_for(call.addr)}:{port};branch={branch};rport"
        )
        bye.add_header("Max-Forwards", "70")
        bye.add_header("From", from_value)
        bye.add_header("To", call.invite.get_header("From"))
        bye.add_header("Call-ID", call.call_id)
        bye.add_header("CSeq", f"{call.local_cseq} BYE")
        bye.add_header("User-Agent", sip.SERVER)
        data = bytes(bye)
        future = self._client[branch] = asyncio.get_running_loop().create_future()
        interval, deadline = sip.T1, time.monotonic() + sip.TX_LIFETIME
        try:
            while time.monotonic() < deadline:
                self.send(data, call.addr)
                try:
                    await asyncio.wait_for(asyncio.shield(future), interval)
                    return
                except TimeoutError:
                    interval = min(interval * 2, sip.T2)
            log.warning("呼叫 %s 的 BYE 无应答", call.call_id)
        finally:
            self._client.pop(branch, None)

    # --- the IVR ----------------------------------------------------------------------------------

    async def _walk(self, call: Call, flow) -> None:
        try:
            await asyncio.wait_for(call.acked.wait(), sip.TX_LIFETIME)
        except TimeoutError:
            return
        try:
            await run_flow(call, flow, self.link)
        finally:
            if call.alive:
                await self.hangup(call)


ALLOW_HEADER = sip.ALLOW


class _SipProtocol(asyncio.DatagramProtocol):
    """The SIP socket. (aiosipua's own protocol asserts the transport's type and so
    never reads under uvloop; this one does not care.)"""

    def __init__(self, node: MediaNode):
        self.node = node

    def datagram_received(self, data: bytes, addr) -> None:
        self.node.received(data, addr)

    def error_received(self, exc) -> None:
        log.debug("SIP socket: %s", exc)
