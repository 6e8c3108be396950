"""Walking a caller through an IVR flow (the kinds are declared in ``ivr``)."""

import asyncio
import contextlib
import logging

from django.utils import timezone

from . import parties, recording
from .ivr import CALLER_KINDS
from .link import CallStatus, Flow, PlatformLink
from .rtp import Player

log = logging.getLogger("hotline.telephony.flow")

MAX_STEPS = 200  # a flow that loops (menu → info → menu …) still ends
POLL = 1.0  # seconds between looks at a waiting call's session
CONNECTING = "正在为您接通话务员，请稍候。"
TRANSFERRING = "正在为您转接，请稍候。"
MESSAGE_TAKEN = "您的留言已收到，我们将尽快回电，再见。"


async def run_flow(call, flow: Flow, link: PlatformLink) -> None:
    """Play the flow from its start until a hang-up step, the queue, or the caller leaves."""
    name = flow.start
    for _ in range(MAX_STEPS):
        if not call.alive or name not in flow.nodes:
            return
        step = flow.nodes[name]
        kind = step["type"]
        log.debug("呼叫 %s 进入节点 %s（%s）", call.call_id, name, kind)
        if kind == "play":
            await _play(call, step)
            name = step["next"]
        elif kind == "menu":
            name = await _menu(call, step)
        elif kind == "caller":
            kinds = await link.caller_kinds(flow.platform_id, call.caller)
            name = next((step[k] for k in CALLER_KINDS if k in kinds and step.get(k)), None)
            name = name or step["other"]
        elif kind == "hours":
            is_open = await link.is_open(flow.platform_id, step["queue"])
            name = step["open"] if is_open else step["closed"]
        elif kind == "queue":
            name = await _wait_in_queue(call, flow, step, link)
            if name is None:
                return
        elif kind == "survey":
            await _survey(call, step, link)
            name = step["next"]
        elif kind == "hangup":
            if step.get("text"):
                await call.say(step["text"])
            return
    log.warning("呼叫 %s 在流程 %s 中步数过多，挂机", call.call_id, flow.id)


async def _play(call, step: dict, *, barge_in: bool = False) -> bool:
    if step.get("recording"):
        return await call.play(("recording", step["recording"]), barge_in=barge_in)
    return await call.say(step["text"], barge_in=barge_in)


async def _menu(call, step: dict) -> str:
    keys = step["keys"]
    for _attempt in range(step.get("retries", 2) + 1):
        if step.get("text") or step.get("recording"):
            await _play(call, step, barge_in=True)
        digit = await call.next_digit(step.get("timeout", 5))
        if digit in keys:
            return keys[digit]
        call.clear_digits()
        if digit is not None and step.get("invalid_text"):
            await call.say(step["invalid_text"])
        if not call.alive:
            break
    return step["fail"]


async def _leave_message(call, session_id: int, link: PlatformLink, step: dict) -> None:
    """语音留言: after the beep the caller speaks (up to ``voicemail_seconds``) and presses #
    or hangs up; the message is filed with the 回拨任务 the contact center made."""
    await call.play(("beep", 0.4))
    call.clear_digits()
    loop = asyncio.get_running_loop()
    started = timezone.now()
    file = recording.path_for(session_id, started, f"msg{call.call_id}")
    call.stream.inbox.clear()
    call.stream.keep_audio = True
    call.message = recording.Recorder(file, call.stream.payload_type, channels=1)
    deadline = loop.time() + step.get("voicemail_seconds", 60)
    try:
        while call.alive and loop.time() < deadline:
            if await call.next_digit(min(0.5, max(0.01, deadline - loop.time()))) == "#":
                break
    finally:  # also when the caller hangs up (the usual end of a message)
        message, call.message = call.message, None
        if call.stream is not None:
            call.stream.keep_audio = False
        seconds, size = message.close()
        if seconds >= 1.0:
            await link.recorded(session_id, None, str(file), started, seconds, size)
            log.info("会话 %s 收到语音留言 %.1f 秒", session_id, seconds)
        else:
            message.path.unlink(missing_ok=True)
    if call.alive:
        await call.say(MESSAGE_TAKEN)


async def _survey(call, step: dict, link: PlatformLink) -> None:
    """满意度评价: 1–5 after the agent hung up, stored on the session."""
    for _attempt in range(step.get("retries", 1) + 1):
        await _play(call, step, barge_in=True)
        digit = await call.next_digit(step.get("timeout", 8))
        call.clear_digits()
        if digit is not None and await link.rate(call.session_id, digit):
            if step.get("thanks"):
                await call.say(step["thanks"])
            return
        if not call.alive:
            return


async def _wait_in_queue(call, flow: Flow, step: dict, link: PlatformLink) -> str | None:
    """In the contact center's queue: music on hold with 排队通报 every ``announce_every``
    seconds. A call offered to an agent with a phone rings it; picked up, the two talk
    until one hangs up, or until the agent transfers the call on the desk (the phone is
    hung up, the caller waits for the next one). Returns where the flow goes on
    (``after``, when the agent hung up first), or None when the call is over."""
    status: CallStatus = await link.arrive(flow.platform_id, step["queue"], call.caller)
    call.session_id, call.ref = status.session_id, status.ref
    log.info(
        "呼叫 %s 进入队列 %s：会话 %s（%s）",
        call.call_id,
        step["queue"],
        status.session_id,
        status.state,
    )
    every = step.get("announce_every", 30)
    music = await call.node.audio(("hold", 8.0), call.stream.payload_type)
    told_connecting = False
    if status.waiting and status.announcement:
        await call.say(status.announcement)
    loop = asyncio.get_running_loop()
    next_announcement = loop.time() + every if every else None
    while call.alive:
        if status.over:
            if status.notice:
                await call.say(status.notice)
            if status.left_request and step.get("voicemail", True):
                await _leave_message(call, status.session_id, link, step)
            return None
        leg = call.leg
        if leg is not None and leg.done.is_set():  # refused or taken back: wait on, afresh
            call.leg = None
            status = await link.status(status.session_id)
            continue
        if leg is not None and leg.bridged:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(leg.done.wait(), POLL)
            if leg.done.is_set():
                if leg.bridged:  # the agent left the caller with an outside party (联动)
                    if leg.ended_by in ("remote", "linkage"):
                        await link.agent_hung_up(status.session_id, leg.agent_id)
                    await _talk_on(call, leg.bridge)
                    return None
                parties.hang_up_all(call)
                if call.alive and leg.ended_by == "remote":
                    await link.agent_hung_up(status.session_id, leg.agent_id)
                    return step.get("after")
                if not call.alive:
                    return None
                continue
            status = await link.status(status.session_id)
            if status.over and call.alive:  # 强拆 by a supervisor, or ended on the desk
                leg.ended_by = "released"
                parties.hang_up_all(call)
                await call.node.leg_hangup(leg)
                if status.notice:
                    await call.say(status.notice)
                return None
            if status.agent_id != leg.agent_id and parties.hand_over(call, status.agent_id):
                # 完成转接 after a consultation: that phone is on the line already
                await link.answered(status.session_id, status.agent_id)
                continue
            _follow_hold(leg, status.held, music)
            parties.follow(call, status, link)
            if status.agent_id != leg.agent_id and call.alive:
                # transferred on the desk (to a queue, an agent or the leader): this phone
                # is done; the caller waits for the next one
                leg.ended_by = "transfer"
                parties.hang_up_all(call)
                await call.node.leg_hangup(leg)
                await call.say(TRANSFERRING)
            continue
        # the phone of the agent the call is offered to — or, after a transfer, given to
        wanted_phone = status.agent_phone if status.state in ("offered", "active") else ""
        if leg is None and wanted_phone:
            call.node.ring(call, status.agent_id, wanted_phone, status.ref)
        elif leg is not None and leg.agent_id != status.agent_id:
            call.node.cancel_ringing(leg)  # the contact center took the offer back
        if (wanted_phone or status.state == "active") and not told_connecting:
            told_connecting = True
            await call.say(CONNECTING)
        if call.leg is not None and call.leg.bridged:
            continue
        if not call.player.playing:
            call.player.play(music, loop=True)
        await _pause(call)
        status = await link.status(status.session_id)
        due = next_announcement is not None and loop.time() >= next_announcement
        if due and status.waiting and status.announcement and call.leg is None:
            await call.say(status.announcement)
            next_announcement = loop.time() + every


async def _talk_on(call, bridge) -> None:
    """The caller and the outside party talk until one of them hangs up."""
    while call.alive and not bridge.closed:
        await asyncio.sleep(0.2)


def _follow_hold(leg, held: bool, music: bytes) -> None:
    """保持 / 恢复通话 as the agent set it on the desk."""
    bridge = leg.bridge
    if bridge is None or held == (bridge.hold_music is not None):
        return
    if held:
        player = Player(leg.payload_type)
        player.play(music, loop=True)
        bridge.hold_music = player
    else:
        bridge.hold_music = None
        bridge.a.inbox.clear()
        bridge.b.inbox.clear()


async def _pause(call) -> None:
    """Until the next look at the session: POLL seconds, or sooner if the agent's phone
    answers or drops."""
    leg = call.leg
    if leg is None:
        await asyncio.sleep(POLL)
        return
    deadline = asyncio.get_running_loop().time() + POLL
    while not leg.bridged and not leg.done.is_set():
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return
        await asyncio.sleep(min(0.05, left))
