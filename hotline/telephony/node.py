"""The media node (媒体节点): one asyncio process owning SIP (over UDP and TCP) and RTP.

It answers trunk calls to the numbers that have an IVR flow, walks the caller through
the flow (``hotline.telephony.flow``) and talks to the platform through a
:class:`~hotline.telephony.link.PlatformLink`. A call offered to an agent rings the
agent's phone (a :class:`~hotline.telephony.legs.PhoneLeg`, the node calling out);
picked up, the two are bridged and recorded. One 20 ms ticker with absolute deadlines sends every call's audio
(the pattern measured in the voice-engine notes).
"""

import asyncio
import dataclasses
import logging
import socket
import time

from aiosipua import SipRequest, SipResponse
from aiosipua.headers import parse_address
from django.utils import timezone

from . import digest, prompts, recording, sip
from .callback import run_callback
from .flow import run_flow
from .legs import Bridge, PhoneLeg
from .link import DirectLink, PlatformLink
from .rtp import Player, PortPool, RtpStream
from .stream import AudioFork

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
    trunk: str = ""  # host:port of the SIP trunk for calls out (电话回拨); "" = none
    callback_poll: float = 1.0  # seconds between looks for callbacks to place
    heartbeat: float = 5.0  # seconds between reports to the platform (wall, 班长席)
    trunk_probe_every: float = 30.0  # SIP OPTIONS to the trunk (中继线路异常告警)
    trunk_probe_wait: float = 5.0  # no final answer by then: the trunk is down
    audio_fork: str = ""  # ws:// URL every bridged call's audio is streamed to (实时语音流)


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
        self.ref = ""  # the session's number (随路数据)
        self.acked = asyncio.Event()
        self.started = time.monotonic()
        self.leg: PhoneLeg | None = None  # the agent's phone, ringing or bridged
        self.parties: dict[int, PhoneLeg] = {}  # who joined the bridged call (CallParty id)
        self.message: recording.Recorder | None = None  # a voice message being left

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
        self.link = link or DirectLink()
        self.calls: dict[str, Call] = {}
        self.ports = PortPool(self.config.rtp_low, self.config.rtp_high)
        self.transactions = sip.ServerTransactions()
        self._client: dict[str, asyncio.Future] = {}  # our requests' branch → final response
        self.trunk_state: tuple[bool | None, str, object] = (None, "", None)  # ok, detail, at
        self.legs: dict[str, PhoneLeg] = {}  # the calls the node placed, by Call-ID
        self._leg_branches: dict[str, PhoneLeg] = {}  # … and by their INVITE's branch
        self.bridges: set[Bridge] = set()
        self._audio: dict[tuple, bytes] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.Server | None = None
        self._streams: dict[tuple, asyncio.Transport] = {}  # SIP over TCP: peer → connection
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
        # SIP over TCP on the same port (RFC 3261 §18: a UA must take both)
        self._tcp_server = await loop.create_server(
            lambda: _SipStreamProtocol(self), host=self.config.host, port=self.address[1]
        )
        self._ticker = asyncio.create_task(self._tick())
        self.name = f"{socket.gethostname()}:{self.address[1]}"
        self.started_at = timezone.now()
        self.spawn(self._heartbeat())
        if self.config.trunk:
            self.serve_callbacks(self.config.trunk)
        log.info(
            "媒体节点已启动：SIP udp %s:%s，RTP %s–%s",
            *self.address,
            self.config.rtp_low,
            self.config.rtp_high,
        )

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            await self.hangup(call)
        try:  # a node that says it stops is not an alarm
            await self.link.heartbeat(**self.health(), stopping=True)
        except Exception:
            log.exception("停止时上报状态失败")
        for task in [self._ticker, *self._tasks]:
            if task:
                task.cancel()
        await asyncio.gather(
            *(t for t in [self._ticker, *self._tasks] if t), return_exceptions=True
        )
        await self.link.close()
        if self._transport:
            self._transport.close()
        if self._tcp_server:
            self._tcp_server.close()
            for connection in list(self._streams.values()):
                connection.close()
        log.info("媒体节点已停止")

    def spawn(self, coroutine) -> asyncio.Task:
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
                bridged = call.leg is not None and call.leg.bridged
                if call.state == "answered" and call.stream is not None and not bridged:
                    call.stream.send(call.player.frame())
                    if call.message is not None:
                        call.message.add(call.stream.take())
            for leg in list(self.legs.values()):  # a placed call waiting for its other side
                if leg.player is not None and leg.state == "answered" and not leg.bridged:
                    leg.stream.send(leg.player.frame())
            for bridge in list(self.bridges):
                bridge.exchange()
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
                "beep": prompts.beep,
            }[kind]
            samples = await asyncio.get_running_loop().run_in_executor(None, render, value)
            cached = self._audio[(key, payload_type)] = prompts.encode(samples, payload_type)
        return cached

    # --- SIP in ---------------------------------------------------------------------------------

    def send(self, data: bytes, addr) -> None:
        """To ``addr`` over the TCP connection it came on, if it did; else over UDP."""
        connection = self._streams.get(tuple(addr[:2]))
        if connection is not None and not connection.is_closing():
            connection.write(data)
        elif self._transport is not None:
            self._transport.sendto(data, addr)

    def transport_for(self, addr) -> str:
        """How the node reaches ``addr``: "TCP" over a connection it holds, else "UDP"."""
        return "TCP" if addr is not None and tuple(addr[:2]) in self._streams else "UDP"

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
        if method == "REGISTER":
            self.spawn(self._register(request, addr))
            return
        leg = self.legs.get(request.call_id)
        if leg is not None:
            return self._on_leg_request(leg, request, addr)
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
            return self.reply(request, addr, 200, "OK", contact=self.contact(addr), body=call.sdp)
        if method == "UPDATE" and call is not None:  # a session-timer refresh (RFC 4028)
            body = call.sdp if request.body else b""
            return self.reply(request, addr, 200, "OK", contact=self.contact(addr), body=body)
        if method in ("OPTIONS", "INFO") and call is not None:
            return self.reply(request, addr, 200, "OK")
        if call is None and method in ("BYE", "INFO"):
            return self.reply(request, addr, 481, "Call/Transaction Does Not Exist")
        return self.reply(request, addr, 405, "Method Not Allowed", extra={"Allow": ALLOW_HEADER})

    def contact(self, addr=None) -> str:
        """Where the far end sends its next requests: here, over the transport it used."""
        host, port = self.address
        where = f"{self.media_ip_for(None) if host == '0.0.0.0' else host}:{port}"
        tcp = ";transport=tcp" if self.transport_for(addr) == "TCP" else ""
        return f"<sip:medianode@{where}{tcp}>"

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
        self.spawn(self._answer(call, request, addr))

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
        self.reply(request, addr, 180, "Ringing", to_tag=call.local_tag, contact=self.contact(addr))
        if self.config.answer_delay:
            await asyncio.sleep(self.config.answer_delay)
        if not call.alive:
            return
        call.final = self.reply(
            request,
            addr,
            200,
            "OK",
            to_tag=call.local_tag,
            contact=self.contact(addr),
            body=call.sdp,
        )
        call.state = "answered"
        log.info("接听 %s → %s（%s，RTP %s）", call.caller, call.number, call.call_id, port)
        self._wait_ack(call)
        call.task = self.spawn(self._walk(call, flow))

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

        self.spawn(repeat())

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
        leg = self._leg_branches.get(branch or "")
        if leg is not None and response.cseq.method.upper() == "INVITE":
            return self._on_leg_response(leg, response)
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
        for leg in (call.leg, *call.parties.values()):
            if leg is not None and leg.state != "ended":
                self.spawn(self.leg_hangup(leg))
        if call.session_id is not None:
            self.spawn(self.link.left(call.session_id))
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
        target = call.remote_target
        uri = f"sip:{target.user + '@' if target.user else ''}{target.host}" + (
            f":{target.port}" if target.port else ""
        )
        from_value = call.invite.get_header("To")
        if ";tag=" not in from_value:
            from_value += f";tag={call.local_tag}"
        headers = {
            "From": from_value,
            "To": call.invite.get_header("From"),
            "Call-ID": call.call_id,
            "CSeq": f"{call.local_cseq} BYE",
        }
        await self._request_until_answered("BYE", uri, headers, call.addr)

    def _request(self, method: str, uri: str, headers: dict, addr, branch: str) -> SipRequest:
        request = SipRequest(method=method, uri=uri)
        via = f"SIP/2.0/{self.transport_for(addr)} {self.media_ip_for(addr)}:{self.address[1]}"
        request.add_header("Via", f"{via};branch={branch};rport")
        request.add_header("Max-Forwards", "70")
        for name, value in headers.items():
            request.add_header(name, value)
        request.add_header("User-Agent", sip.SERVER)
        return request

    async def _request_until_answered(
        self,
        method: str,
        uri: str,
        headers: dict,
        addr,
        branch: str = "",
        lifetime: float = sip.TX_LIFETIME,
        body: bytes = b"",
    ) -> int | None:
        """A request outside INVITE (BYE, CANCEL, OPTIONS, NOTIFY), repeated (T1
        doubling) until its final response (its status code) or ``lifetime`` (None)."""
        branch = branch or sip.new_branch()
        request = self._request(method, uri, headers, addr, branch)
        if body:
            request.body = body
        data = bytes(request)
        future = self._client[branch] = asyncio.get_running_loop().create_future()
        interval, deadline = sip.T1, time.monotonic() + lifetime
        try:
            while time.monotonic() < deadline:
                self.send(data, addr)
                try:
                    left = max(0.01, min(interval, deadline - time.monotonic()))
                    return await asyncio.wait_for(asyncio.shield(future), left)
                except TimeoutError:
                    interval = min(interval * 2, sip.T2)
            log.warning("%s %s 无应答", method, headers.get("Call-ID"))
            return None
        finally:
            self._client.pop(branch, None)

    # --- 话机注册: REGISTER with digest ------------------------------------------------------------

    async def _register(self, request: SipRequest, addr) -> None:
        """A desk phone or softphone registers its extension: challenged first (401), then
        checked against the account's HA1; the binding is the address the REGISTER came
        from, so a phone behind NAT is called where it is."""
        extension = (request.to_addr.uri.user or "").split(";")[0]
        params = digest.parse(request.get_header("Authorization") or "")
        state = digest.nonce_state(params["nonce"]) if params.get("nonce") else "none"
        if state != "fresh":
            challenge = {"WWW-Authenticate": digest.challenge(stale=state == "stale")}
            self.reply(request, addr, 401, "Unauthorized", to_tag=sip.new_tag(), extra=challenge)
            return
        ha1 = await self.link.sip_ha1(extension)
        if (
            ha1 is None
            or params.get("username") != extension
            or not digest.verify(params, "REGISTER", ha1)
        ):
            log.warning("分机 %s 注册认证失败（%s:%s）", extension, *addr[:2])
            self.reply(request, addr, 403, "Forbidden", to_tag=sip.new_tag())
            return
        wanted = _expires_of(request)
        granted = await self.link.sip_register(
            extension,
            f"sip:{extension}@{addr[0]}:{addr[1]}",
            wanted,
            (request.get_header("User-Agent") or "")[:100],
            self.name,
        )
        contact = request.get_header("Contact") or ""
        answer_contact = None
        if granted and contact.strip() != "*":
            answer_contact = f"{contact.split(';')[0].strip()};expires={granted}"
        log.info("分机 %s %s（%s:%s）", extension, "已注册" if granted else "已注销", *addr[:2])
        self.reply(
            request,
            addr,
            200,
            "OK",
            to_tag=sip.new_tag(),
            contact=answer_contact,
            extra={"Expires": str(granted)},
        )

    # --- health: heartbeats and the trunk probe (中继线路异常告警) ------------------------------------

    def health(self) -> dict:
        ok, detail, checked = self.trunk_state
        host, port = self.address
        return dict(
            name=self.name,
            address=f"{self.media_ip_for(None) if host == '0.0.0.0' else host}:{port}",
            started_at=self.started_at,
            calls=len(self.calls),
            bridges=len(self.bridges),
            trunk=self.config.trunk,
            trunk_ok=ok,
            trunk_detail=detail,
            trunk_checked_at=checked,
        )

    async def _heartbeat(self) -> None:
        while True:
            try:
                await self.link.heartbeat(**self.health())
            except Exception:  # the database away for a moment: the next beat tells
                log.exception("媒体节点心跳上报失败")
            await asyncio.sleep(self.config.heartbeat)

    async def _probe_trunk(self) -> None:
        """SIP OPTIONS to the trunk: any final answer means it is there."""
        host, _, port = self.config.trunk.partition(":")
        addr = (host, int(port or 5060))
        while True:
            headers = {
                "From": f"<sip:medianode@{self.media_ip_for(addr)}>;tag={sip.new_tag()}",
                "To": f"<sip:{self.config.trunk}>",
                "Call-ID": f"{sip.new_tag()}@hotline",
                "CSeq": "1 OPTIONS",
            }
            code = await self._request_until_answered(
                "OPTIONS",
                f"sip:{self.config.trunk}",
                headers,
                addr,
                lifetime=self.config.trunk_probe_wait,
            )
            was = self.trunk_state[0]
            detail = "无响应" if code is None else f"应答 {code}"
            self.trunk_state = (code is not None, detail, timezone.now())
            if code is None and was is not False:
                log.warning("中继线路异常：%s %s", self.config.trunk, detail)
            elif code is not None and was is False:
                log.info("中继线路恢复：%s", self.config.trunk)
            await asyncio.sleep(self.config.trunk_probe_every)

    # --- the agent's phone (the node calls out) ----------------------------------------------------

    def ring(self, call: Call, agent_id: int, uri: str, ref: str) -> PhoneLeg:
        """Ring the phone of the agent the call is offered (or transferred) to."""
        leg = call.leg = PhoneLeg(
            uri,
            payload_type=call.stream.payload_type,
            from_user=call.caller,
            session_id=call.session_id,
            agent_id=agent_id,
            offer=True,
            # 随路数据: the session the desk pops, the number that was dialled
            headers={"X-Hotline-Session": ref, "X-Hotline-Dialled": call.number},
        )
        self.spawn(self._ring_for(call, leg))
        return leg

    async def _ring_for(self, call: Call, leg: PhoneLeg) -> None:
        try:
            if not await self.dial(leg):
                return
            # picked up: the offer is accepted — unless it moved on, or the caller left
            accepted = call.alive and await self.link.answered(call.session_id, leg.agent_id)
            if not accepted or not call.alive:
                return await self.leg_hangup(leg)
            call.player.stop()
            self.bridge(call.stream, leg, call_id=call.call_id, legs=(leg,))
            log.info("接通：%s ⇄ 坐席话机 %s", call.caller, leg.uri)
        except Exception:
            log.exception("呼叫坐席话机 %s 出错", leg.uri)
            await self._leg_over(leg)

    async def dial(self, leg: PhoneLeg) -> bool:
        """Place the leg's call: True once the far end answered with usable media; else
        the leg is over (refused, rang out, cancelled) and False."""
        if not await self._invite(leg):
            return False
        response = await self._final_of(leg)
        if response is None or response.status_code >= 300:
            if response is not None:
                leg.failure = f"{response.status_code} {response.reason_phrase}"
                log.info("%s 未接听：%s", leg.uri, leg.failure)
            await self._leg_over(leg, unanswered=not leg.cancelled)
            return False
        answer = sip.read_offer(response.body) if response.body else None
        leg.state = "answered"
        if answer is None or answer.payload_type != leg.payload_type:
            log.warning("%s 的应答媒体不可用", leg.uri)
            leg.failure = "488 媒体不可用"
            await self._leg_bye(leg)
            await self._leg_over(leg, unanswered=True)
            return False
        if leg.cancelled:  # answered just as it was no longer wanted
            await self.leg_hangup(leg)
            return False
        leg.stream.remote = answer.address
        return True

    def bridge(
        self, a: RtpStream, leg: PhoneLeg, *, call_id: str, legs, outbound_id: int | None = None
    ) -> Bridge:
        """``a`` and the answered ``leg`` hear each other, recorded; ``legs`` are the
        placed legs that end the bridge when they end."""
        bridge = Bridge(
            a,
            leg.stream,
            session_id=leg.session_id,
            agent_id=leg.agent_id,
            call_id=call_id,
            outbound_id=outbound_id,
        )
        for each in legs:
            each.bridge = bridge
        if self.config.audio_fork:
            bridge.fork = AudioFork(
                self.config.audio_fork,
                a.payload_type,
                {
                    "session": leg.session_id,
                    "call": outbound_id,
                    "agent": leg.agent_id,
                    "sample_rate": 8000,
                    "channels": 2,
                    "encoding": "pcm_s16le",
                    "frame_ms": 20,
                },
            )
        self.bridges.add(bridge)
        return bridge

    async def _invite(self, leg: PhoneLeg) -> bool:
        """Open the leg's RTP and send its INVITE (timer A) until the far end responds."""
        try:
            port = self.ports.take()
        except RuntimeError:
            log.warning("RTP 端口已用尽，无法外呼 %s", leg.uri)
            leg.failure = "RTP 端口已用尽"
            await self._leg_over(leg, unanswered=True)
            return False
        stream = RtpStream(port, leg.payload_type, sip.EVENT_TYPE, lambda digit: None)
        try:
            await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: stream, local_addr=(self.config.host, port)
            )
        except OSError:
            self.ports.give_back(port)
            leg.failure = f"RTP 端口 {port} 不可用"
            await self._leg_over(leg, unanswered=True)
            return False
        leg.stream = stream
        ip = self.media_ip_for(leg.addr)
        leg.sdp = sip.offer_sdp(ip, port, stream.payload_type, int(time.time()))
        leg.from_value = f'"{leg.from_user}" <sip:{leg.from_user}@{ip}>;tag={leg.local_tag}'
        headers = {
            "From": leg.from_value,
            "To": leg.to_value,
            "Call-ID": leg.call_id,
            "CSeq": "1 INVITE",
            "Contact": self.contact(leg.addr),
            **leg.headers,
        }
        invite = self._request("INVITE", leg.uri, headers, leg.addr, leg.branch)
        invite.set_header("Content-Type", "application/sdp")
        invite.body = leg.sdp
        data = bytes(invite)
        self.legs[leg.call_id] = self._leg_branches[leg.branch] = leg
        log.info("外呼 %s", leg.uri)
        interval, deadline = sip.T1, time.monotonic() + sip.TX_LIFETIME
        while not leg.heard.is_set():
            if time.monotonic() > deadline or leg.cancelled:
                leg.failure = leg.failure or "无响应"
                await self._leg_over(leg, unanswered=not leg.cancelled)
                return False
            self.send(data, leg.addr)
            try:
                await asyncio.wait_for(leg.heard.wait(), interval)
            except TimeoutError:
                interval = min(interval * 2, sip.T2)
        if leg.cancelled and not leg.final.done():
            self._send_cancel(leg)
        return True

    async def _final_of(self, leg: PhoneLeg) -> SipResponse | None:
        """The far end's final answer; past the ring limit the INVITE is cancelled."""
        try:
            return await asyncio.wait_for(asyncio.shield(leg.final), PhoneLeg.RING_LIMIT)
        except TimeoutError:
            self._send_cancel(leg)
        try:
            return await asyncio.wait_for(asyncio.shield(leg.final), sip.TX_LIFETIME)
        except TimeoutError:
            return None

    def cancel_ringing(self, leg: PhoneLeg) -> None:
        """Stop ringing (CANCEL): the offer was taken back, or nobody waits any more."""
        if leg.cancelled or leg.state != "ringing":
            return
        leg.cancelled = True
        if leg.heard.is_set() and not leg.final.done():
            self._send_cancel(leg)

    def _send_cancel(self, leg: PhoneLeg) -> None:
        headers = {
            "From": leg.from_value,
            "To": f"<{leg.uri}>",
            "Call-ID": leg.call_id,
            "CSeq": "1 CANCEL",
        }
        # a CANCEL travels in its INVITE's transaction: the same branch
        self.spawn(self._request_until_answered("CANCEL", leg.uri, headers, leg.addr, leg.branch))

    def _on_leg_response(self, leg: PhoneLeg, response: SipResponse) -> None:
        leg.heard.set()
        code = response.status_code
        if code < 200:
            return
        to_value = response.get_header("To")
        if code < 300:  # ACK a 2xx (and each of its retransmissions) end to end
            leg.to_value = to_value
            contact = response.contact
            if contact:
                leg.remote_target = str(contact[0].uri)
            branch, uri = sip.new_branch(), leg.remote_target
        else:  # ACK a failure hop by hop, in its INVITE's transaction
            branch, uri = leg.branch, leg.uri
        headers = {"From": leg.from_value, "To": to_value, "Call-ID": leg.call_id}
        headers["CSeq"] = "1 ACK"
        self.send(bytes(self._request("ACK", uri, headers, leg.addr, branch)), leg.addr)
        if not leg.final.done():
            leg.final.set_result(response)

    def _on_leg_request(self, leg: PhoneLeg, request: SipRequest, addr) -> None:
        method = request.method.upper()
        if method == "BYE":
            self.reply(request, addr, 200, "OK")
            leg.ended_by = "remote"
            self.spawn(self._leg_over(leg))
        elif method == "INVITE":  # re-INVITE (hold, session refresh): the same media
            self.reply(request, addr, 200, "OK", contact=self.contact(addr), body=leg.sdp)
        elif method == "UPDATE":  # a session-timer refresh (RFC 4028)
            body = leg.sdp if request.body else b""
            self.reply(request, addr, 200, "OK", contact=self.contact(addr), body=body)
        elif method == "REFER" and leg.agent_id and leg.bridged and leg.party_id is None:
            self.reply(request, addr, 202, "Accepted")  # the phone's own transfer key
            self.spawn(self._refer(leg, request))
        elif method in ("OPTIONS", "INFO"):
            self.reply(request, addr, 200, "OK")
        else:
            self.reply(request, addr, 405, "Method Not Allowed", extra={"Allow": ALLOW_HEADER})

    async def _leg_bye(self, leg: PhoneLeg) -> None:
        await self._leg_request(leg, "BYE")

    async def _leg_request(
        self, leg: PhoneLeg, method: str, extra: dict | None = None, body: bytes = b""
    ) -> int | None:
        """A request of ours in the leg's dialog (BYE, NOTIFY), its CSeq one more each."""
        leg.cseq += 1
        headers = {
            "From": leg.from_value,
            "To": leg.to_value,
            "Call-ID": leg.call_id,
            "CSeq": f"{leg.cseq} {method}",
            **(extra or {}),
        }
        return await self._request_until_answered(
            method, leg.remote_target, headers, leg.addr, body=body
        )

    async def _refer(self, leg: PhoneLeg, request: SipRequest) -> None:
        """REFER from the agent's phone (its transfer key, RFC 3515): to a colleague's
        extension — a transfer on the platform, as from the desk — or to one of the
        联动号码 (直接转接). The phone is told how it went (NOTIFY sipfrag); on success the
        call moves on as after any transfer and this phone is hung up."""
        target = (request.get_header("Refer-To") or "").strip().strip("<>")
        user = ""
        if target.startswith(("sip:", "sips:")):
            user = target.split(":", 1)[1].split("@")[0].split(";")[0]
        outcome = await self.link.refer(leg.session_id, leg.agent_id, user)
        line = "SIP/2.0 200 OK" if not outcome else "SIP/2.0 404 Not Found"
        if outcome:
            log.info("话机转接被拒（%s → %s）：%s", leg.uri, user, outcome)
        await self._leg_request(
            leg,
            "NOTIFY",
            {
                "Event": "refer",
                "Subscription-State": "terminated;reason=noresource",
                "Content-Type": "message/sipfrag;version=2.0",
            },
            line.encode() + b"\r\n",
        )

    async def leg_hangup(self, leg: PhoneLeg) -> None:
        """Hang the leg up (BYE), or stop it ringing (the dialling task then takes the far
        end's 487, ACKs it and closes the leg)."""
        if leg.state == "answered":
            await self._leg_bye(leg)
            await self._leg_over(leg)
        else:
            self.cancel_ringing(leg)

    async def _leg_over(self, leg: PhoneLeg, *, unanswered: bool = False) -> None:
        """Close the leg once: its media, its bridge (the recording is filed with the
        session), and — an offer the phone did not take — the offer goes back."""
        if leg.state == "ended" and leg.done.is_set():
            return
        leg.state = "ended"
        bridge = leg.bridge if leg.bridged else None
        if bridge is not None:
            if leg.party_id is not None:  # a party leaves; the call goes on
                bridge.leave(leg.party_id)
                bridge = bridge if bridge.b is None and not bridge.outside_parties else None
            elif bridge.outside_parties:  # the agent leaves the caller with the outside party
                bridge.drop_agent()
                bridge = None
        if bridge is not None:
            self.bridges.discard(bridge)
        if leg.stream is not None:
            leg.stream.close()
            self.ports.give_back(leg.stream.port)
            leg.stream = None
        self.legs.pop(leg.call_id, None)
        self._leg_branches.pop(leg.branch, None)
        try:
            written = bridge.close() if bridge is not None else None
            if written is not None:
                seconds, size = written
                await self.link.recorded(
                    bridge.session_id,
                    bridge.agent_id,
                    str(bridge.recorder.relative),
                    bridge.started,
                    seconds,
                    size,
                    bridge.outbound_id,
                )
                log.info("通话录音 %s（%.1f 秒）", bridge.recorder.relative, seconds)
            if unanswered and leg.offer and leg.session_id is not None:
                await self.link.unanswered(leg.session_id, leg.agent_id)
        finally:
            leg.done.set()

    # --- 电话回拨 ---------------------------------------------------------------------------------

    def serve_callbacks(self, trunk: str) -> None:
        """Place the callbacks agents ask for over ``trunk`` (host:port), and watch it."""
        self.config.trunk = trunk
        self.spawn(self._place_callbacks())
        self.spawn(self._probe_trunk())

    async def _place_callbacks(self) -> None:
        """Take the callbacks agents asked for and place them (one task each)."""
        while True:
            try:
                for job in await self.link.callbacks_claim(self.name):
                    self.spawn(self._callback(job))
            except Exception:  # the database away for a moment: try again next time
                log.exception("读取待回拨任务出错")
            await asyncio.sleep(self.config.callback_poll)

    async def _callback(self, job) -> None:
        try:
            await run_callback(self, job, self.link, self.config.trunk)
        except Exception:
            log.exception("电话回拨 %s 出错", job.id)
            await self.link.callback_progress(job.id, "failed", "媒体节点出错")

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


def _expires_of(request: SipRequest) -> int:
    """How long a REGISTER asks to be bound: the Contact's ``expires``, else the Expires
    header, else an hour; ``Contact: *`` (remove all) is 0."""
    contact = request.get_header("Contact") or ""
    if contact.strip() == "*":
        return 0
    for value in (_param(contact, "expires"), request.get_header("Expires")):
        if value is not None and str(value).strip().isdigit():
            return int(str(value).strip())
    return 3600


def _param(header: str, name: str) -> str | None:
    for part in header.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip()
    return None


class _SipStreamProtocol(asyncio.Protocol):
    """One SIP-over-TCP connection: the byte stream cut into messages by their blank line
    and Content-Length (RFC 3261 §18.3); answers go back on the same connection."""

    MAX_MESSAGE = 64 * 1024  # a peer that sends more without a message end is cut off

    def __init__(self, node: MediaNode):
        self.node = node
        self.buffer = b""
        self.peer = None

    def connection_made(self, transport):
        self.transport = transport
        self.peer = tuple(transport.get_extra_info("peername")[:2])
        self.node._streams[self.peer] = transport

    def connection_lost(self, exc):
        if self.node._streams.get(self.peer) is self.transport:
            del self.node._streams[self.peer]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            self.buffer = self.buffer.lstrip(b"\r\n")  # keep-alive CRLFs between messages
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            length = _content_length(self.buffer[:end])
            if length is None:
                log.warning("SIP/TCP %s:%s 报文缺少 Content-Length，断开连接", *self.peer)
                self.transport.close()
                return
            total = end + 4 + length
            if len(self.buffer) < total:
                break
            message, self.buffer = self.buffer[:total], self.buffer[total:]
            self.node.received(message, self.peer)
        if len(self.buffer) > self.MAX_MESSAGE:
            log.warning("SIP/TCP %s:%s 报文过长，断开连接", *self.peer)
            self.transport.close()


def _content_length(head: bytes) -> int | None:
    """The Content-Length of a message's head (compact form ``l`` too); None if absent
    or not a number — over a stream, a message without it has no end."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


class _SipProtocol(asyncio.DatagramProtocol):
    """The SIP socket. (aiosipua's own protocol asserts the transport's type and so
    never reads under uvloop; this one does not care.)"""

    def __init__(self, node: MediaNode):
        self.node = node

    def datagram_received(self, data: bytes, addr) -> None:
        self.node.received(data, addr)

    def error_received(self, exc) -> None:
        log.debug("SIP socket: %s", exc)
