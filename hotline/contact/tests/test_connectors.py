"""The connector protocol's outbound side, for a channel behind a remote service: a peer
that is down means retries, then a dead letter the agent and the supervisor see."""

import pytest

from hotline.contact import connectors, services
from hotline.contact.connectors import base
from hotline.contact.connectors.base import DeliveryError
from hotline.contact.models import Message

from .conftest import T0


class FlakyGateway(base.Connector):
    """An SMS-like connector whose gateway is down for the first ``failures`` attempts."""

    channel = "sms"
    label = "短信"
    max_length = 70

    def __init__(self, failures: int):
        self.failures, self.sent = failures, []

    def send(self, message) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryError("网关无响应")
        self.sent.append(message.body)
        return f"gw-{message.pk}"


@pytest.fixture
def gateway(monkeypatch):
    def install(failures: int) -> FlakyGateway:
        connector = FlakyGateway(failures)
        monkeypatch.setitem(connectors.REGISTRY, "sms", connector)
        return connector

    return install


@pytest.fixture
def sms_session(cc, agent, arrive):
    worker = agent("林")
    session = arrive("13900001111", channel="sms")
    session.refresh_from_db()
    assert session.agent_id == worker.pk
    return worker, session


def attempts_until_settled(connector, message):
    """Drive the worker's attempts (deliver_message) until the message settles."""
    states = []
    for _ in range(10):
        message.refresh_from_db()
        if message.delivery not in ("pending", "retrying"):
            break
        states.append(connector.attempt(message, now=T0))
    message.refresh_from_db()
    return states


def test_a_gateway_down_twice_delivers_on_the_third_attempt(gateway, sms_session):
    connector = gateway(failures=2)
    worker, session = sms_session
    message = services.message_send(actor=worker, session=session, body="您的诉求已受理", now=T0)
    assert message.delivery == "pending"
    assert attempts_until_settled(connector, message) == ["retrying", "retrying", "sent"]
    assert message.delivery == "sent" and message.attempts == 3
    assert message.external_id == f"gw-{message.pk}" and message.last_error == ""
    assert connector.sent == ["您的诉求已受理"]


def test_a_gateway_that_stays_down_ends_in_a_dead_letter(gateway, sms_session):
    connector = gateway(failures=99)
    worker, session = sms_session
    message = services.message_send(actor=worker, session=session, body="请补充地址", now=T0)
    states = attempts_until_settled(connector, message)
    assert states[-1] == "dead" and len(states) == len(base.RETRY_DELAYS) + 1
    assert message.delivery == "dead" and message.last_error == "网关无响应"


def test_the_channels_limits_are_told_to_the_agent_before_anything_is_stored(gateway, sms_session):
    gateway(failures=0)
    worker, session = sms_session
    with pytest.raises(services.Unprocessable, match="短信消息最长 70 字"):
        services.message_send(actor=worker, session=session, body="长" * 71, now=T0)
    assert not Message.objects.filter(session=session, direction="out").exists()
