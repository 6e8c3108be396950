"""生成工单 from a contact session: the intake page is pre-filled from the session, the
order remembers the session, and the citizen's screen pop then shows it in transit."""

import pytest

from hotline.contact import services
from hotline.contact.connectors import Inbound
from hotline.workorders.models import WorkOrder
from hotline.workorders.tests.conftest import category

from .conftest import T0


@pytest.fixture
def chat(cc, agent):
    """A web chat with agent 林 in which the citizen wrote two messages."""
    worker = agent("林")
    entry = services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="webchat",
        code="web",
        name="网页在线咨询",
        queue=cc.general,
    )
    visitor = "a" * 32
    first = services.inbound_receive(
        entry=entry, inbound=Inbound(address=visitor, body="小区夜间施工噪音扰民"), now=T0
    )
    services.inbound_receive(
        entry=entry, inbound=Inbound(address=visitor, body="地址在迎宾路 1 号"), now=T0
    )
    session = first.session
    session.refresh_from_db()
    services.profile_update(actor=worker, profile=session.citizen, name="李女士")
    services.profile_add_identity(
        actor=worker, profile=session.citizen, kind="phone", value="13900001111"
    )
    return worker, session


def test_the_intake_page_is_filled_from_the_session_and_the_order_keeps_it(chat, login):
    worker, session = chat
    client = login(worker)
    page = client.get(f"/orders/new/?session={session.pk}").content.decode()
    assert f"来源会话 {session.ref}" in page
    for text in ("李女士", "13900001111", "小区夜间施工噪音扰民\n地址在迎宾路 1 号"):
        assert text in page
    assert 'value="web" selected' in page  # the order channel of a web chat

    response = client.post(
        "/orders/new/",
        {
            "type": "complaint",
            "urgency": "normal",
            "channel": "web",
            "category": str(category().pk),
            "title": "小区夜间施工噪音扰民",
            "content": "小区夜间施工噪音扰民，地址在迎宾路 1 号",
            "caller_name": "李女士",
            "caller_phone": "13900001111",
            "session_ref": session.ref,
            "op": "submit",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    order = WorkOrder.objects.get()
    assert order.session_ref == session.ref

    pop = client.get(f"/api/contact/citizens/{session.citizen_id}").json()
    # the screen pop masks phone numbers (revealing one is its own audited act)
    assert {"kind": "phone", "kind_label": "电话", "value": "139****1111"} in pop["identities"]
    assert [(o["number"], o["in_transit"]) for o in pop["orders"]] == [(order.number, True)]


def test_someone_elses_session_is_not_found(chat, login, make_user):
    _, session = chat
    other = make_user("agent", username="agent_other")
    response = login(other).get(f"/orders/new/?session={session.pk}")
    assert response.status_code == 404
    assert login(other).get("/orders/new/?session=abc").status_code == 404
