"""Live pushes of the contact center: what changed goes to the screens that show it.

Three kinds of listener, each a channel-layer group:

* ``desk.<agent id>`` — the agent's workbench (its state, its sessions and their messages,
  announcements to it);
* ``floor.<platform id>`` — the supervisor seat and the wall (every agent's state, every
  contact fact of the platform);
* ``session.<session id>`` — whoever watches one session besides its agent (a supervisor
  monitoring or barging in).

The citizen is not a group here: what the citizen sees goes through the session's
channel connector (:mod:`hotline.contact.connectors`), which knows how to say it on that
channel.

Every push is sent after the transaction commits (a rolled-back write shows nothing) and
carries ``"type": "contact.event"`` plus an ``event`` name; pages fetch what they render
from the API, so an event only needs to say what changed.
"""

import logging

from django.db import transaction
from django.urls import reverse

from hotline.core.consumers import send_to_groups

log = logging.getLogger(__name__)

EVENT_TYPE = "contact.event"


def desk_group(agent_id: int) -> str:
    return f"desk.{agent_id}"


def floor_group(platform_id: int) -> str:
    return f"floor.{platform_id}"


def session_group(session_id: int) -> str:
    return f"session.{session_id}"


def publish(groups, event: str, **data) -> None:
    """Push ``event`` to ``groups`` once the current transaction commits (at once outside
    one). A channel layer that is down costs the live view, never the write: logged."""
    groups = [g for g in groups if g]
    if not groups:
        return
    message = {"type": EVENT_TYPE, "event": event, **data}

    def send():
        try:
            send_to_groups((group, message) for group in groups)
        except Exception:  # noqa: BLE001 - a live view must never fail a committed write
            log.warning("live push %s to %s failed", event, groups, exc_info=True)

    transaction.on_commit(send)


def after_commit(callback) -> None:
    """Run ``callback`` after the current transaction commits; its errors are logged."""

    def run():
        try:
            callback()
        except Exception:  # noqa: BLE001
            log.warning("after-commit %r failed", callback, exc_info=True)

    transaction.on_commit(run)


# --- what the contact center publishes ---------------------------------------------------------


def agent_changed(presence) -> None:
    """An agent's state or load changed: the agent's desk and the floor."""
    from .lifecycle import agent_state_label

    publish(
        [desk_group(presence.agent_id), floor_group(presence.platform_id)],
        "agent",
        agent=presence.agent_id,
        presence=presence.presence,
        activity=presence.activity,
        reason=presence.reason,
        state=agent_state_label(presence.presence, presence.activity, presence.reason),
        since=presence.since.isoformat(),
        active_text=presence.active_text,
        active_voice=presence.active_voice,
    )


def fact_recorded(fact, session) -> None:
    """A contact fact (offered, queued, assigned, answered, ended …): the floor, the agent
    it concerns, watchers of the session, and the citizen through the connector."""
    data = dict(
        kind=fact.kind,
        session=fact.session_id,
        channel=fact.channel,
        queue=fact.queue_id,
        agent=fact.agent_id,
        at=fact.at.isoformat(),
    )
    groups = [floor_group(fact.platform_id), session_group(fact.session_id)]
    if fact.agent_id:
        groups.append(desk_group(fact.agent_id))
    if session.agent_id and session.agent_id != fact.agent_id:
        groups.append(desk_group(session.agent_id))
    publish(groups, "fact", **data)
    from . import connectors

    connector = connectors.for_channel(session.channel)
    if connector is not None:
        session_id, kind = session.pk, fact.kind
        after_commit(lambda: connector.session_changed(session_id, kind))


def message_created(message, session) -> None:
    """A message of a session (either direction, or a notice to the citizen): its agent
    and its watchers; an outbound one is handed to the channel's connector."""
    groups = [session_group(session.pk)]
    if session.agent_id:
        groups.append(desk_group(session.agent_id))
    publish(groups, "message", session=session.pk, message=message_payload(message))
    from . import connectors

    connector = connectors.for_channel(session.channel)
    if connector is not None:
        message_id = message.pk
        if message.direction == message.Direction.OUTBOUND:
            after_commit(lambda: connectors.deliver(message_id))
        else:
            after_commit(lambda: connector.inbound_stored(message_id))


def participant_changed(session, user, *, joined: bool, role: str) -> None:
    """Someone joined or left a session beside its agent (强插, an invited colleague or
    unit staff): the agent's desk, the session's watchers, the floor and the
    participant's own pages learn who is in."""
    publish(
        [
            session_group(session.pk),
            desk_group(session.agent_id or 0),
            desk_group(user.pk),
            floor_group(session.platform_id),
        ],
        "participant",
        session=session.pk,
        user=user.pk,
        name=user.display_name,
        role=str(role),
        joined=joined,
    )


def message_payload(message) -> dict:
    """A message as pages and the citizen's page render it."""
    return {
        "id": message.pk,
        "session": message.session_id,
        "direction": message.direction,
        "kind": message.kind,
        "body": message.body,
        "at": message.at.isoformat(),
        "sender": message.sender.display_name if message.sender_id else "",
        "attachment": reverse("contact_message_file", args=[message.pk])
        if message.attachment
        else "",
        "attachment_name": message.attachment.name.rsplit("/", 1)[-1] if message.attachment else "",
        "delivery": message.delivery,
    }
