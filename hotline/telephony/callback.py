"""电话回拨: the node rings the agent's phone first; picked up, the agent hears that the
citizen is being called, and the node calls the citizen over the trunk showing the
hotline's number (号码隐藏, never the agent's); answered, the two are bridged and
recorded with the callback task's session. Each step is reported on the
``OutboundCall`` the agent asked for (the 回拨任务 page shows it)."""

import asyncio
import logging

from .legs import PhoneLeg
from .link import CallbackJob, PlatformLink
from .rtp import Player

log = logging.getLogger(__name__)

CALLING = "正在为您回拨来电人，请稍候。"
NO_ANSWER = "来电人未接听，本次回拨未接通。"
PAYLOAD_TYPE = 0  # PCMU towards the agent's phone; the citizen is offered the same


async def run_callback(node, job: CallbackJob, link: PlatformLink, trunk: str) -> None:
    agent = PhoneLeg(
        job.agent_phone,
        payload_type=PAYLOAD_TYPE,
        from_user=job.number,  # the agent's phone shows whom it is about to call
        session_id=job.session_id,
        agent_id=job.agent_id,
        # 随路数据: the callback task's or the order's number, and whom it calls
        headers={"X-Hotline-Session": job.ref, "X-Hotline-Callback": job.number},
    )
    if not await node.dial(agent):
        await link.callback_progress(job.id, "failed", f"坐席话机未接听：{agent.failure}")
        return
    agent.player = Player(PAYLOAD_TYPE)
    agent.player.play(await node.audio(("tts", CALLING), PAYLOAD_TYPE))
    await link.callback_progress(job.id, "dialing_citizen")
    citizen = PhoneLeg(
        f"sip:{job.number}@{trunk}",
        payload_type=PAYLOAD_TYPE,
        from_user=job.caller_id,  # 号码隐藏: the citizen sees the hotline's number
        session_id=job.session_id,
        agent_id=job.agent_id,
    )
    dialing = asyncio.ensure_future(node.dial(citizen))
    gave_up = asyncio.ensure_future(agent.done.wait())
    await asyncio.wait([dialing, gave_up], return_when=asyncio.FIRST_COMPLETED)
    if not dialing.done():  # the agent put the phone down while the citizen's rang
        node.cancel_ringing(citizen)
        await dialing
        await link.callback_progress(job.id, "failed", "坐席挂机，回拨取消")
        return
    gave_up.cancel()
    if not dialing.result():
        await link.callback_progress(job.id, "failed", f"来电人未接听：{citizen.failure}")
        if agent.state == "answered":
            await agent.player.play(await node.audio(("tts", NO_ANSWER), PAYLOAD_TYPE))
            await node.leg_hangup(agent)
        return
    if agent.state != "answered":  # the agent hung up just as the citizen answered
        await node.leg_hangup(citizen)
        await link.callback_progress(job.id, "failed", "坐席挂机，回拨取消")
        return
    agent.player.stop()
    node.bridge(
        citizen.stream, agent, call_id=citizen.call_id, legs=(agent, citizen), outbound_id=job.id
    )
    await link.callback_progress(job.id, "connected")
    log.info("回拨接通：坐席话机 %s ⇄ %s（会话 %s）", agent.uri, job.number, job.ref)
    await asyncio.wait(
        [asyncio.ensure_future(agent.done.wait()), asyncio.ensure_future(citizen.done.wait())],
        return_when=asyncio.FIRST_COMPLETED,
    )
    for leg in (agent, citizen):  # whoever is still on the line is hung up
        if leg.state != "ended":
            await node.leg_hangup(leg)
    who = "来电人挂机" if citizen.ended_by == "remote" else "坐席挂机"
    await link.callback_progress(job.id, "ended", who)
