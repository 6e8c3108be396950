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


def test_the_supervisor_sees_a_dead_letter_and_sends_it_again_once_the_gateway_is_back(
    gateway, sms_session, cc, client, django_capture_on_commit_callbacks
):
    connector = gateway(failures=len(base.RETRY_DELAYS) + 1)  # down for one whole round
    worker, session = sms_session
    message = services.message_send(actor=worker, session=session, body="请补充地址", now=T0)
    attempts_until_settled(connector, message)
    assert message.delivery == "dead"

    client.force_login(cc.leader)
    floor = client.get("/api/contact/floor").json()
    assert [(d["id"], d["ref"], d["error"]) for d in floor["dead_letters"]] == [
        (message.pk, session.ref, "网关无响应")
    ]
    assert floor["dead_letters"][0]["address"] == "139****1111"  # a phone, masked

    # an agent may not; a supervisor may — the gateway is back, the message goes out
    client.force_login(worker)
    assert client.post(f"/api/contact/messages/{message.pk}/redeliver").status_code == 403
    client.force_login(cc.leader)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/api/contact/messages/{message.pk}/redeliver")
    assert answer.status_code == 200, answer.content
    message.refresh_from_db()
    assert (message.delivery, message.attempts) == ("sent", 1)
    assert connector.sent == ["请补充地址"]
    assert client.get("/api/contact/floor").json()["dead_letters"] == []
    # sending again what was delivered is refused, in Chinese
    again = client.post(f"/api/contact/messages/{message.pk}/redeliver")
    assert again.status_code == 409 and "无需重新投递" in again.json()["detail"]
