"""话机注册: a desk phone registers its extension with digest authentication; calls for
its agent then ring it where it registered from. A wrong password or an unknown
extension is refused; Expires 0 unregisters; the account's rules are checked. The
phone's transfer key (REFER) sends the call to a colleague's extension."""

import asyncio
import time

import pytest

from hotline.contact import services as contact
from hotline.contact.models import Session
from hotline.core.errors import Conflict, Forbidden, Unprocessable
from hotline.core.models import AuditEntry
from hotline.telephony import digest, selectors, services
from hotline.telephony.models import SipAccount

from .test_bridge import into_queue
from .test_call import until

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "desk2026pass"


def test_a_registered_phone_rings_for_its_agent(node, hotline, make_user):
    desk = node.agent_phone(answer_after=0.2)
    agent = make_user("agent", username="agent_reg", display_name="话务员陈静")
    services.sip_account_set(actor=agent, extension="8001", password=PASSWORD)
    assert AuditEntry.objects.filter(action="telephony.sip_account.set", actor=agent).exists()
    assert PASSWORD not in str(AuditEntry.objects.values_list("detail", flat=True))

    answer = node.phones.run(desk.register(node.address[1], "8001", PASSWORD, expires=600))
    assert answer.status_code == 200 and answer.get_header("Expires") == "600"
    account = SipAccount.objects.get(agent=agent)
    assert account.contact == f"sip:8001@127.0.0.1:{desk.sip_port}"
    assert account.user_agent == "TestDesk/1.0" and account.registered()
    assert selectors.phone_of(agent.pk) == account.contact

    contact.agent_sign_in(actor=agent, ready=True)
    caller, session = into_queue(node, "13811110000")
    invite = node.phones.run(desk.wait_for(lambda m: getattr(m, "method", "") == "INVITE"))
    assert invite.get_header("X-Hotline-Session") == session.ref
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    node.phones.run(caller.bye())

    # Expires 0: unregistered, no phone any more
    gone = node.phones.run(desk.register(node.address[1], "8001", PASSWORD, expires=0))
    assert gone.status_code == 200 and gone.get_header("Expires") == "0"
    assert selectors.phone_of(agent.pk) == ""


def test_a_wrong_password_or_an_unknown_extension_is_forbidden(node, hotline, make_user):
    agent = make_user("agent", username="agent_reg2", display_name="话务员王磊")
    services.sip_account_set(actor=agent, extension="8002", password=PASSWORD)
    phone = node.agent_phone()
    wrong = node.phones.run(phone.register(node.address[1], "8002", "not-the-password1"))
    assert wrong.status_code == 403
    unknown = node.phones.run(phone.register(node.address[1], "8999", PASSWORD))
    assert unknown.status_code == 403
    assert not SipAccount.objects.get(agent=agent).registered()


def test_nonces_are_signed_and_expire():
    fresh = digest.nonce()
    assert digest.nonce_state(fresh) == "fresh"
    assert digest.nonce_state(digest.nonce(now=time.time() - 3600)) == "stale"
    assert digest.nonce_state(fresh[:-3] + "abc") == "bad"
    assert digest.nonce_state("garbage") == "bad"
    params = digest.parse('Digest username="8001", nonce="n", uri="sip:x", response="r"')
    assert params["username"] == "8001" and not digest.verify(params, "REGISTER", "0" * 32)


def test_account_rules(hotline, make_user, users):
    agent = make_user("agent", username="agent_reg3", display_name="话务员孙丽")
    other = make_user("agent", username="agent_reg4", display_name="话务员赵强")
    with pytest.raises(Unprocessable, match="分机号须为 3–8 位数字"):
        services.sip_account_set(actor=agent, extension="80a1", password=PASSWORD)
    with pytest.raises(Unprocessable, match="至少 8 位"):
        services.sip_account_set(actor=agent, extension="8003", password="12345678")
    services.sip_account_set(actor=agent, extension="8003", password=PASSWORD)
    with pytest.raises(Conflict, match="分机号 8003 已被话务员孙丽使用"):
        services.sip_account_set(actor=other, extension="8003", password=PASSWORD)
    with pytest.raises(Forbidden):  # a handling unit's staff take no calls here
        services.sip_account_set(actor=users.handler, extension="8004", password=PASSWORD)


def test_my_phone_page_sets_the_account_and_shows_the_registration(
    hotline, make_user, login, users
):
    agent = make_user("agent", username="agent_reg5", display_name="话务员陈静")
    client = login(agent)
    page = client.get("/voice/phone")
    assert page.status_code == 200 and "话机注册" in page.content.decode()
    bad = client.post("/voice/phone", {"extension": "80", "password": PASSWORD})
    assert bad.status_code == 422 and "分机号须为 3–8 位数字" in bad.content.decode()
    saved = client.post("/voice/phone", {"extension": "8005", "password": PASSWORD}, follow=True)
    html = saved.content.decode()
    assert "话机注册账号已保存" in html and "未注册" in html and 'value="8005"' in html
    services.sip_register(extension="8005", contact="sip:8005@10.0.0.21:5062", expires=600)
    html = client.get("/voice/phone").content.decode()
    assert "已注册" in html and "sip:8005@10.0.0.21:5062" in html
    fixed = client.post("/voice/phone", {"phone_uri": "sip:8005@10.0.0.9"}, follow=True)
    assert "话机已保存" in fixed.content.decode()
    assert selectors.phone_of(agent.pk) == "sip:8005@10.0.0.9"  # a fixed address comes first
    assert login(users.handler).get("/voice/phone").status_code == 403


def test_the_desk_phones_transfer_key_sends_the_call_to_a_colleagues_extension(
    node, hotline, make_user
):
    from .phone import speak, tone
    from .test_bridge import agent_with_phone
    from .test_call import loud

    first_phone = node.agent_phone(answer_after=0.2)
    first = agent_with_phone(make_user, first_phone, "agent_refer1")
    caller, session = into_queue(node, "13822220000")
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    node.phones.run(first_phone.acked.wait())
    colleague_phone = node.agent_phone(answer_after=0.2)
    colleague = make_user("agent", username="agent_refer2", display_name="话务员林涛")
    services.sip_account_set(actor=colleague, extension="8002", password=PASSWORD)
    assert (
        node.phones.run(colleague_phone.register(node.address[1], "8002", PASSWORD)).status_code
        == 200
    )
    contact.agent_sign_in(actor=colleague, ready=True)

    # an unknown target: 202, then NOTIFY 404 — the call stays where it is
    assert node.phones.run(first_phone.refer("sip:7777@127.0.0.1")).status_code == 202
    notify = node.phones.run(first_phone.wait_for(lambda m: getattr(m, "method", "") == "NOTIFY"))
    assert "SIP/2.0 404" in notify.text and notify.get_header("Event") == "refer"

    # the colleague's extension: the first phone is told 200 and hung up, the next rings
    assert node.phones.run(first_phone.refer("sip:8002@127.0.0.1")).status_code == 202
    node.phones.run(first_phone.wait_for(lambda m: getattr(m, "method", "") == "BYE"))
    invite = node.phones.run(
        colleague_phone.wait_for(lambda m: getattr(m, "method", "") == "INVITE")
    )
    assert invite.get_header("X-Hotline-Session") == session.ref
    until(lambda: Session.objects.get(pk=session.pk).agent_id == colleague.pk)
    until(lambda: Session.objects.get(pk=session.pk).state == "active")
    node.phones.run(colleague_phone.acked.wait())
    since = len(caller.audio)
    node.phones.run(speak(colleague_phone, tone(1000, 1.2), colleague_phone.payload_type))
    node.phones.run(asyncio.sleep(0.3))
    assert loud(caller.heard(since))
    assert first.pk != colleague.pk
    node.phones.run(caller.bye())
