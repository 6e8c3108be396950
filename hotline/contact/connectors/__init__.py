"""Channel connectors (渠道接入): the one interface every text channel plugs into.

A connector does three things for its channel (wazo-chatd's connector protocol):

1. **verify** what arrives (a signed visitor token, a WeChat signature, a gateway's
   credentials) — anything that fails is refused with a 4xx and a log line, never a
   session;
2. **normalise** it into :class:`~.base.Inbound` items (text, image, file, location,
   event) that :func:`hotline.contact.services.inbound_receive` turns into sessions and
   messages — sticky to the open session of that citizen;
3. **deliver** outbound messages and report their fate, pending → sent → delivered |
   failed → retrying → … → dead (``lifecycle.DELIVERY_EDGES``), which the agent and the
   supervisor see on each message.

It also says session changes to the citizen in its channel's way
(:meth:`~.base.Connector.session_changed`: queue position, the agent joining, the
satisfaction request at the end).

Connectors register themselves in :data:`REGISTRY` by channel, one module each (web
chat, WeChat, SMS, email, Weibo, fax). A channel whose service calls us answers at
``/channels/<platform>/<entry>/<action>`` (:meth:`~.base.Connector.webhook`); one we
fetch from is polled by the worker (:meth:`~.base.Connector.poll`). Channels without a
page of their own (:class:`~.base.ReplyConnector`) ask for the rating as a numbered menu
and take the reply "1"…"5" as the rating.
"""

from .base import (  # noqa: F401
    Connector,
    DeliveryError,
    Inbound,
    ReplyConnector,
    Unverified,
    agent_name,
    rating_reply,
)

REGISTRY: dict[str, Connector] = {}


def register(connector: Connector) -> Connector:
    REGISTRY[connector.channel] = connector
    return connector


def for_channel(channel: str) -> Connector | None:
    return REGISTRY.get(channel)


def deliver(message_id: int) -> None:
    """Hand one outbound message to its channel's connector (after commit). A connector
    that talks to a remote service does it in the worker; web chat does it at once."""
    from ..models import Message

    message = Message.objects.select_related("session").filter(pk=message_id).first()
    if message is None:
        return
    connector = for_channel(message.session.channel)
    if connector is None:
        return
    if connector.deliver_inline:
        connector.attempt(message)
    else:
        from ..tasks import deliver_message

        deliver_message(message_id)


def load() -> None:
    """Import the built-in connectors, every module of this package but ``base``
    (from ``ContactConfig.ready``); each registers itself."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")
