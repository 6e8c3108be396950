"""Parties joining a bridged call, as the media node places them (``CallParty`` on the
platform): a supervisor's phone — 监听, 耳语, 强插 — or an outside number over the trunk
(12345–110 联动: 三方通话, or 转接 that leaves the caller with it). Who hears whom is
``legs.SPEAKS_TO``; the bridge mixes."""

import logging

from .legs import PhoneLeg
from .link import CallStatus, PartyJob, PlatformLink

log = logging.getLogger(__name__)

NO_TRUNK = "媒体节点未配置外呼中继（--trunk）"
ENDED_BY = {"remote": "对方挂机", "platform": "已结束", "caller": "来电人挂机"}


def follow(call, status: CallStatus, link: PlatformLink) -> None:
    """Bring the call's parties in line with the platform's: ring the new ones, change
    how the others are heard, hang up those the platform ended."""
    wanted = {party.id: party for party in status.parties}
    bridge = call.leg.bridge if call.leg is not None and call.leg.bridged else None
    for party_id, leg in list(call.parties.items()):
        party = wanted.get(party_id)
        if party is None:
            if leg.state != "ended":
                leg.ended_by = leg.ended_by or "platform"
                call.node.spawn(call.node.leg_hangup(leg))
        elif bridge is not None:
            bridge.set_mode(party_id, party.mode)
    for party_id, party in wanted.items():
        if party_id not in call.parties:
            _start(call, party, link)


def hang_up_all(call) -> None:
    """The call is over for the parties too (hung up, released, transferred away)."""
    for leg in call.parties.values():
        if leg.state != "ended":
            leg.ended_by = leg.ended_by or "platform"
            call.node.spawn(call.node.leg_hangup(leg))


def _start(call, party: PartyJob, link: PlatformLink) -> None:
    node = call.node
    headers = {"X-Hotline-Session": call.ref}
    if party.kind == "outside":
        # 号码隐藏: the far end sees the hotline's number; the caller's rides along (随路数据)
        uri, shown = f"sip:{party.target}@{node.config.trunk}", call.number
        headers["X-Hotline-Caller"] = call.caller
    else:  # a supervisor's phone, or the consulted colleague's (咨询)
        uri, shown = party.target, call.caller
        header = "X-Hotline-Monitor" if party.kind == "supervisor" else "X-Hotline-Consult"
        headers[header] = party.mode
    leg = call.parties[party.id] = PhoneLeg(
        uri,
        payload_type=call.stream.payload_type,
        from_user=shown,
        session_id=call.session_id,
        agent_id=party.user_id if party.kind == "agent" else None,
        headers=headers,
        party_id=party.id,
    )
    node.spawn(_run(call, leg, party, link))


async def _run(call, leg: PhoneLeg, party: PartyJob, link: PlatformLink) -> None:
    node = call.node
    if party.kind == "outside" and not node.config.trunk:
        leg.state = "ended"
        leg.done.set()
        await link.party_progress(party.id, "failed", NO_TRUNK)
        return
    await link.party_progress(party.id, "ringing")
    if not await node.dial(leg):
        await link.party_progress(party.id, "failed", leg.failure or "未接通")
        return
    agent = call.leg
    if not call.alive or agent is None or not agent.bridged or leg.ended_by:
        await node.leg_hangup(leg)  # the call ended (or the party was called off) meanwhile
        await link.party_progress(party.id, "ended", "通话已结束")
        return
    bridge = agent.bridge
    bridge.join(party.id, leg.stream, party.mode)
    leg.bridge = bridge
    await link.party_progress(party.id, "connected")
    log.info("呼叫 %s：%s 加入（%s）", call.call_id, leg.uri, party.mode)
    if party.mode == "transfer":  # 转接: the caller talks on with the outside party alone
        agent.ended_by = "linkage"
        await node.leg_hangup(agent)
    await leg.done.wait()
    if not call.alive and leg.ended_by != "remote":
        leg.ended_by = "caller"
    await link.party_progress(party.id, "ended", ENDED_BY.get(leg.ended_by, "通话结束"))


def hand_over(call, agent_id: int) -> bool:
    """完成转接 after a consultation: the consulted agent's phone, already on the line,
    becomes the call's agent leg and the first agent's phone is hung up. False when no
    such phone is on the call (then the next agent's phone is rung as after any
    transfer)."""
    for party_id, leg in list(call.parties.items()):
        if leg.agent_id == agent_id and leg.bridged:
            bridge = leg.bridge
            bridge.leave(party_id)
            first = call.leg
            first.bridge = None  # its end no longer ends the call
            bridge.b, bridge.hold_music = leg.stream, None  # the caller meets the new agent
            bridge._listen(leg.stream)
            leg.party_id, leg.offer = None, True
            del call.parties[party_id]
            call.leg = leg
            first.ended_by = "transfer"
            call.node.spawn(call.node.leg_hangup(first))
            return True
    return False
