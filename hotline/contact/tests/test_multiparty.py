"""多方会话 and 邀请评价 on the agent workbench, as the tender asks (多媒体坐席):

* the agent finds and invites a colleague, back-office staff or a handling unit's staff
  member into an active chat; the invited person reads it live and writes into it; the
  citizen is told "市人社局工作人员已加入会话" and never sees a name; the invited person
  leaves, the agent removes them, and the session's end ends every participation;
* the agent sends the satisfaction request while the chat is active and the citizen's
  page opens its rating panel at once; after the rating, another request is refused;
  the rating is shared by everyone who served in the session (满意度指标共享).
"""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from hotline.contact import selectors, services
from hotline.contact.connectors import Inbound, webchat
from hotline.contact.lifecycle import SessionState
from hotline.contact.models import ContactFact, FactKind, Message, Session, SessionParticipant
from hotline.core.errors import Conflict, Forbidden, Unprocessable
from hotline.core.models import AuditEntry, Notification
from hotline.testing import Socket

from .conftest import at


def post(client, path, data=None):
    return client.post(path, data or {}, content_type="application/json")


@pytest.fixture
def entry(cc):
    return services.channel_entry_create(
        actor=cc.leader,
        platform=cc.platform,
        channel="webchat",
        code="web",
        name="网页在线咨询",
        queue=cc.general,
    )


@pytest.fixture
def people(cc, make_user):
    """The agent who answers, a colleague, a back-office dispatcher, staff of two units
    of the platform, a unit of the district sub-platform, and an admin."""
    org = cc.org
    worker = make_user("agent", username="agent_mp", display_name="话务员林晓", employee_no="1023")
    services.agent_sign_in(actor=worker)
    return {
        "agent": worker,
        "colleague": make_user(
            "agent", username="agent_col", display_name="话务员周敏", employee_no="1088"
        ),
        "dispatcher": make_user("dispatcher", username="disp_mp", display_name="派单员韩雪"),
        "handler": make_user(
            "unit_handler", unit=org.sy_units[0], username="rs_wang", display_name="人社局王芳"
        ),
        "other_handler": make_user(
            "unit_handler", unit=org.sy_units[1], username="zj_zhao", display_name="住建局赵磊"
        ),
        "district": make_user(
            "unit_handler", unit=org.yz_unit, username="yz_chen", display_name="崖州区陈静"
        ),
        "admin": make_user("sys_admin", username="sys_mp", display_name="系统管理员甲"),
    }


def chat_from(entry, visitor: str, body: str, now=None) -> Session:
    message = services.inbound_receive(
        entry=entry, inbound=Inbound(address=visitor, body=body), now=now
    )
    return Session.objects.get(pk=message.session_id)


VISITOR = "c" * 32


# --- 多方会话 ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_unit_staff_member_invited_in_writes_to_the_citizen_who_sees_only_the_unit(
    cc, entry, people, login
):
    token = webchat.visitor_token(entry)
    visitor = webchat.verify(entry, token)
    session = chat_from(entry, visitor, "我的社保卡丢了，异地就医怎么办？")
    worker, handler = people["agent"], people["handler"]
    assert session.agent_id == worker.pk and session.state == SessionState.ACTIVE
    agent_client, handler_client = login(worker), login(handler)

    # before the invitation the unit's staff cannot open or write into the chat
    assert handler_client.get(f"/api/contact/sessions/{session.pk}").status_code == 404
    refused = post(handler_client, f"/api/contact/sessions/{session.pk}/messages", {"body": "你好"})
    assert refused.status_code == 404

    # the agent finds the unit's staff by the unit's name
    found = agent_client.get(f"/api/contact/sessions/{session.pk}/invite-candidates?q=人社")
    assert found.status_code == 200, found.content
    assert [(p["name"], p["kind"], p["unit"]) for p in found.json()] == [
        ("人社局王芳", "unit", "市人社局")
    ]
    everyone = agent_client.get(f"/api/contact/sessions/{session.pk}/invite-candidates").json()
    names = [p["name"] for p in everyone]
    assert "话务员周敏" in names and "派单员韩雪" in names and "住建局赵磊" in names
    assert "崖州区陈静" not in names  # another platform's unit
    assert "系统管理员甲" not in names and "话务员林晓" not in names

    async def scenario():
        citizen = Socket(f"/ws/chat/SY/{entry.code}/?t={token}")
        desk = Socket("/ws/desk/", agent_client)
        unit = Socket("/ws/desk/", handler_client)  # the 会话协助 page's socket
        assert await citizen.connect() and await desk.connect() and await unit.connect()
        await citizen.receive_until(lambda m: m["event"] == "hello")
        await desk.receive_until(lambda m: m["event"] == "ready")
        await unit.receive_until(lambda m: m["event"] == "ready")
        # not invited yet: the unit's staff may not watch the session
        await unit.send_json_to({"type": "watch_session", "id": session.pk})
        assert (await unit.receive_until(lambda m: m["event"] == "error"))["detail"]

        response = await sync_to_async(post)(
            agent_client, f"/api/contact/sessions/{session.pk}/participants", {"user": handler.pk}
        )
        assert response.status_code == 201, response.content
        assert response.json()["role"] == "invited"
        assert response.json()["shown_as"] == "市人社局工作人员"
        notice = await citizen.receive_until(
            lambda m: m["event"] == "message" and m["message"]["kind"] == "event"
        )
        assert notice["message"]["body"].startswith("市人社局工作人员已加入会话")
        invited = await unit.receive_until(lambda m: m["event"] == "participant")
        assert invited["joined"] is True and invited["user"] == handler.pk
        joined = await desk.receive_until(lambda m: m["event"] == "participant")
        assert joined["role"] == "invited"

        # invited: the page watches the session and sees the citizen write live
        await unit.send_json_to({"type": "watch_session", "id": session.pk})
        await unit.send_json_to({"type": "ping"})  # answered once the watch is in place
        await unit.receive_until(lambda m: m["event"] == "pong")
        await sync_to_async(services.inbound_receive)(
            entry=entry, inbound=Inbound(address=visitor, body="我现在在北京住院")
        )
        seen = await unit.receive_until(
            lambda m: m["event"] == "message" and "北京住院" in m["message"]["body"]
        )
        assert seen["message"]["direction"] == "in"

        response = await sync_to_async(post)(
            handler_client,
            f"/api/contact/sessions/{session.pk}/messages",
            {"body": "您好，异地就医可先在国家医保服务平台APP办理备案。"},
        )
        assert response.status_code == 201, response.content
        said = await citizen.receive_until(
            lambda m: m["event"] == "message" and "备案" in m["message"]["body"]
        )
        assert said["message"]["sender"] == "市人社局工作人员"
        assert "王芳" not in str(said)
        on_desk = await desk.receive_until(
            lambda m: m["event"] == "message" and "备案" in m["message"]["body"]
        )
        assert on_desk["message"]["sender"] == "人社局王芳"  # colleagues see the name
        for socket in (citizen, desk, unit):
            await socket.disconnect()

    async_to_sync(scenario)()

    # the unit's staff see the chat in their list; the agent sees who is in
    assists = handler_client.get("/api/contact/assists").json()
    assert [s["id"] for s in assists["sessions"]] == [session.pk]
    detail = agent_client.get(f"/api/contact/sessions/{session.pk}").json()
    assert [(p["name"], p["role"], p["left_at"]) for p in detail["participants"]] == [
        ("人社局王芳", "invited", None)
    ]
    assert handler_client.get(f"/api/contact/sessions/{session.pk}").json()["my_role"] == "invited"
    assert Notification.objects.filter(recipient=handler, kind="contact.invite").exists()
    assert AuditEntry.objects.filter(action="contact.session.invite", actor=worker).exists()
    assert ContactFact.objects.filter(session_id=session.pk, kind=FactKind.INVITED).exists()

    # another unit's staff, not invited, may not write (and does not even see it)
    with pytest.raises(Forbidden):
        services.message_send(actor=people["other_handler"], session=session, body="我也说一句")

    # the invited person leaves: told to the citizen, and no more writing
    response = handler_client.delete(
        f"/api/contact/sessions/{session.pk}/participants/{handler.pk}"
    )
    assert response.status_code == 200, response.content
    assert response.json()[0]["left_reason"] == "主动退出"
    assert Message.objects.filter(session=session, body="市人社局工作人员已退出会话。").exists()
    refused = post(handler_client, f"/api/contact/sessions/{session.pk}/messages", {"body": "补充"})
    assert refused.status_code == 403
    assert handler_client.get("/api/contact/assists").json()["sessions"] == []
    # leaving twice is a 409 with a Chinese reason
    again = handler_client.delete(f"/api/contact/sessions/{session.pk}/participants/{handler.pk}")
    assert again.status_code == 409 and "不在该会话" in again.json()["detail"]


@pytest.mark.django_db
def test_inviting_is_refused_outside_the_platform_twice_and_into_a_closed_session(
    cc, entry, people, api, arrive
):
    session = chat_from(entry, VISITOR, "咨询公积金", now=at(1))
    client = api(people["agent"])
    url = f"/api/contact/sessions/{session.pk}/participants"

    for outsider in ("district", "admin"):
        response = post(client, url, {"user": people[outsider].pk})
        assert response.status_code == 422, response.content
        assert "本平台" in response.json()["detail"]
    assert post(client, url, {"user": 999999}).status_code == 404
    response = post(client, url, {"user": people["agent"].pk})
    assert response.status_code == 422 and "本人" in response.json()["detail"]

    assert post(client, url, {"user": people["dispatcher"].pk}).status_code == 201
    twice = post(client, url, {"user": people["dispatcher"].pk})
    assert twice.status_code == 409 and "已在会话中" in twice.json()["detail"]

    # only the session's agent (or a supervisor) invites; others do not see the session
    colleague = people["colleague"]
    assert post(api(colleague), url, {"user": people["handler"].pk}).status_code == 404
    # unit staff have no workbench rights: they cannot invite either
    with pytest.raises(Forbidden):
        services.session_invite(
            actor=people["handler"], session=session, invitee=people["other_handler"]
        )

    # a call is not a text session; an ended session takes nobody in
    call = arrive("13800000009", channel="voice", now=at(2))
    with pytest.raises(Conflict, match="语音"):
        services.session_invite(actor=cc.leader, session=call, invitee=people["handler"])
    services.session_end(actor=people["agent"], session=session, now=at(3))
    response = post(client, url, {"user": people["handler"].pk})
    assert response.status_code == 409 and "不能邀请协助" in response.json()["detail"]


@pytest.mark.django_db
def test_the_agent_removes_one_and_the_end_of_the_session_ends_every_participation(
    cc, entry, people, api
):
    session = chat_from(entry, VISITOR, "小区停水了", now=at(1))
    worker, handler, colleague = people["agent"], people["handler"], people["colleague"]
    services.session_invite(actor=worker, session=session, invitee=handler, now=at(2))
    services.session_invite(actor=worker, session=session, invitee=colleague, now=at(3))
    services.message_send(actor=colleague, session=session, body="我来补充一下停水公告", now=at(4))
    notices = list(
        Message.objects.filter(session=session, kind=Message.Kind.EVENT).values_list(
            "body", flat=True
        )
    )
    assert any(n.startswith("市人社局工作人员已加入会话") for n in notices)
    assert any(n.startswith("1088号客服已加入会话") for n in notices)
    assert not any("周敏" in n or "王芳" in n for n in notices)

    # the agent removes the unit's staff member; an invited person cannot remove another
    with pytest.raises(Forbidden):
        services.session_participant_remove(actor=handler, session=session, user=colleague)
    response = api(worker).delete(f"/api/contact/sessions/{session.pk}/participants/{handler.pk}")
    assert response.status_code == 200, response.content
    removed = SessionParticipant.objects.get(session=session, user=handler)
    assert removed.left_reason == SessionParticipant.Left.REMOVED
    with pytest.raises(Forbidden):
        services.message_send(actor=handler, session=session, body="还有一点")

    # the session ends: the colleague is out too, and writes no more
    services.session_end(actor=worker, session=session, now=at(10))
    gone = SessionParticipant.objects.get(session=session, user=colleague)
    assert gone.left_at is not None and gone.left_reason == SessionParticipant.Left.ENDED
    with pytest.raises(Forbidden):
        services.message_send(actor=colleague, session=session, body="再说一句")
    assert selectors.assist_sessions(colleague) == []
    # what they took part in stays readable to them, with who was there
    detail = api(colleague).get(f"/api/contact/sessions/{session.pk}").json()
    assert {p["name"]: p["left_reason"] for p in detail["participants"]} == {
        "人社局王芳": "坐席移出",
        "话务员周敏": "会话结束",
    }


# --- 邀请评价 ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_agent_asks_for_the_rating_while_active_and_the_citizen_rates_at_once(
    cc, entry, people, login
):
    token = webchat.visitor_token(entry)
    visitor = webchat.verify(entry, token)
    session = chat_from(entry, visitor, "咨询一下护照办理")
    worker, handler = people["agent"], people["handler"]
    services.session_invite(actor=worker, session=session, invitee=handler)
    agent_client = login(worker)
    url = f"/api/contact/sessions/{session.pk}/rating-request"

    async def scenario():
        citizen = Socket(f"/ws/chat/SY/{entry.code}/?t={token}")
        assert await citizen.connect()
        hello = await citizen.receive_until(lambda m: m["event"] == "hello")
        assert hello["state"]["rate"] is False  # active, nothing asked yet

        response = await sync_to_async(post)(agent_client, url)
        assert response.status_code == 200, response.content
        assert response.json()["rating_requested_at"] is not None
        state = await citizen.receive_until(
            lambda m: m["event"] == "state" and m["state"]["rate"] is True
        )
        assert state["state"]["state"] == "active"  # the chat goes on
        notice = await citizen.receive_until(
            lambda m: m["event"] == "message" and m["message"]["kind"] == "event"
        )
        assert "评价" in notice["message"]["body"]

        await citizen.send_json_to({"type": "rate", "satisfaction": "非常满意"})
        rated = await citizen.receive_until(lambda m: m["event"] in ("rated", "error"))
        assert rated == {"event": "rated", "satisfaction": "非常满意"}
        await citizen.disconnect()

    async_to_sync(scenario)()
    session.refresh_from_db()
    assert session.state == SessionState.ACTIVE and session.satisfaction == "非常满意"
    assert ContactFact.objects.filter(session_id=session.pk, kind=FactKind.RATE_ASKED).exists()
    assert AuditEntry.objects.filter(action="contact.session.rating_request").exists()

    # once rated, asking again is a 409 in Chinese; the rating is shared with everyone in
    again = post(agent_client, url)
    assert again.status_code == 409 and "已评价" in again.json()["detail"]
    detail = agent_client.get(f"/api/contact/sessions/{session.pk}").json()
    assert detail["satisfaction"] == "非常满意"
    assert [(p["name"], p["satisfaction"]) for p in detail["participants"]] == [
        ("人社局王芳", "非常满意")
    ]
    for person in (worker, handler):
        ratings = selectors.participant_ratings(person)
        assert ratings["rated"] == 1 and ratings["levels"]["非常满意"] == 1
        assert ratings["satisfied_rate"] == 1.0
    assert selectors.participant_ratings(people["colleague"])["rated"] == 0


@pytest.mark.django_db
def test_the_rating_request_is_for_an_active_chat_of_ones_own(cc, entry, people, api, arrive):
    session = chat_from(entry, VISITOR, "咨询落户", now=at(1))
    url = f"/api/contact/sessions/{session.pk}/rating-request"
    # someone else's session: as if it did not exist; unit staff have no workbench rights
    assert post(api(people["colleague"]), url).status_code == 404
    with pytest.raises(Forbidden):
        services.session_request_rating(actor=people["handler"], session=session)
    # asking twice before the answer sends it again (the citizen may have closed it)
    assert post(api(people["agent"]), url).status_code == 200
    assert post(api(people["agent"]), url).status_code == 200
    assert ContactFact.objects.filter(session_id=session.pk, kind=FactKind.RATE_ASKED).count() == 2
    # the citizen cannot rate a chat nobody asked about before its end
    other = chat_from(entry, "d" * 32, "另一个问题", now=at(2))
    with pytest.raises(Conflict, match="会话结束后才能评价"):
        services.contact_rate(session=other, satisfaction="满意")
    with pytest.raises(Unprocessable):
        services.contact_rate(session=session, satisfaction="还行")
    # after the end the page already asks on its own
    services.session_end(actor=people["agent"], session=other, now=at(3))
    response = post(api(people["agent"]), f"/api/contact/sessions/{other.pk}/rating-request")
    assert response.status_code == 409 and "已结束" in response.json()["detail"]
    # a channel without a rating request of its own form is refused
    call = arrive("13800000010", channel="voice", now=at(4))
    with pytest.raises(Conflict, match="暂不支持邀请评价"):
        services.session_request_rating(actor=cc.leader, session=call)


# --- the pages ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_assist_page_is_for_staff_who_may_be_invited(cc, people, login):
    response = login(people["handler"]).get("/contact/assist/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "会话协助" in page and 'src="/static/contact/assist.js"' in page
    assert login(people["admin"]).get("/contact/assist/").status_code == 403
    desk = login(people["agent"]).get("/desk/").content.decode()
    assert 'id="cd-invite-open"' in desk and 'id="cd-rate"' in desk


# --- in three browsers: the agent, the unit's staff member, the citizen ------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_the_browsers_the_unit_joins_the_chat_and_the_citizen_is_asked_to_rate(
    browser, live_server, screenshot_dir, cc, entry, people
):
    """The agent invites 市人社局's staff member from the workbench; the staff member
    answers on the 会话协助 page; the citizen reads it under the unit's name; then the
    agent clicks 邀请评价 and the citizen's page shows its rating panel mid-chat.
    Screenshots (prefix ``multiparty-``): the invite dialog, the unit's page, the panel."""
    from playwright.sync_api import expect

    from hotline.testing import SignedIn, Visitor

    worker, handler = people["agent"], people["handler"]
    agent = SignedIn(browser, live_server.url, worker, screenshot_dir, prefix="multiparty-agent-")
    unit = SignedIn(browser, live_server.url, handler, screenshot_dir, prefix="multiparty-unit-")
    citizen = Visitor(
        browser,
        live_server.url,
        screenshot_dir,
        prefix="multiparty-citizen-",
        viewport={"width": 420, "height": 820},
    )
    persons = (agent, unit, citizen)
    try:
        desk = agent.page
        agent.goto("/desk/")
        expect(desk.locator("#cd-link")).to_have_attribute("data-link", "ok")
        expect(desk.locator("#cd-state-label")).to_have_text("示闲")

        citizen.goto("/chat/SY/web/")
        chat = citizen.page
        expect(chat.locator(".wc-conn")).to_have_text("已连接")
        chat.locator("textarea").fill("我在外地住院，社保卡丢了，医保还能报销吗？")
        chat.locator("textarea").press("Enter")
        expect(desk.locator(".cd-tab")).to_have_count(1)
        expect(desk.locator(".cd-msg-in").last).to_contain_text("社保卡丢了")
        expect(desk.locator("#cd-rate")).to_be_visible()

        # the unit's staff member has the assist page open, nothing yet
        unit.goto("/contact/assist/")
        assist = unit.page
        expect(assist.locator("#cd-link")).to_have_attribute("data-link", "ok")
        expect(assist.locator("#ca-empty")).to_be_visible()

        # --- the agent finds the unit's staff and invites them -------------------------------
        desk.click("#cd-invite-open")
        dialog = desk.locator("#cd-invite")
        expect(dialog).to_be_visible()
        expect(dialog.locator(".cd-invite-person").first).to_be_visible()
        dialog.locator("#cd-invite-q").fill("人社")
        dialog.locator("#cd-invite-form button[type=submit]").click()
        person = dialog.locator(".cd-invite-people .cd-invite-person")
        expect(person).to_have_count(1)
        expect(person).to_contain_text("人社局王芳")
        expect(person).to_contain_text("市人社局")
        agent.shoot("invite-dialog")
        person.get_by_role("button", name="邀请").click()
        expect(dialog.locator("#cd-invite-in")).to_contain_text("人社局王芳（市人社局）")
        expect(dialog.locator("#cd-invite-in")).to_contain_text("来电人看到：市人社局工作人员")
        agent.shoot("invite-dialog-invited")
        dialog.get_by_role("button", name="完成").click()
        expect(dialog).to_be_hidden()
        expect(desk.locator("#cd-party")).to_contain_text("受邀协助")
        expect(chat.locator(".wc-notice").last).to_contain_text("市人社局工作人员已加入会话")

        # --- the unit's staff member sees the chat live and answers --------------------------
        expect(assist.locator("#ca-list .cd-tab")).to_have_count(1)
        expect(assist.locator("#ca-log-host .cd-msg-in")).to_contain_text("社保卡丢了")
        chat.locator("textarea").fill("我现在在海口住院。")
        chat.locator("textarea").press("Enter")
        expect(assist.locator("#ca-log-host .cd-msg-in").last).to_contain_text("海口住院")
        assist.locator("#ca-input").fill(
            "您好，社保卡丢失不影响报销：住院期间可凭身份证结算，出院后到市人社局窗口补办社保卡。"
        )
        assist.locator("#ca-input").press("Enter")
        expect(assist.locator("#ca-log-host .cd-msg-out").last).to_contain_text("凭身份证结算")
        expect(assist.locator("#ca-meta")).to_contain_text("来电人看到您为：市人社局工作人员")
        unit.shoot("assist-page")

        answer = chat.locator(".wc-row-agent").last
        expect(answer).to_contain_text("凭身份证结算")
        expect(answer.locator(".wc-sender")).to_have_text("市人社局工作人员")
        expect(chat.locator("body")).not_to_contain_text("王芳")
        expect(desk.locator(".cd-msg-out").last).to_contain_text("凭身份证结算")
        expect(desk.locator(".cd-msg-out").last.locator(".cd-msg-sender")).to_have_text(
            "人社局王芳"
        )

        # --- 邀请评价: the citizen's page opens its rating panel mid-chat ---------------------
        desk.click("#cd-rate")
        rating = chat.locator(".wc-rating")
        expect(rating).to_be_visible()
        expect(chat.locator(".wc-banner")).to_contain_text("为您服务")  # still in the chat
        expect(desk.locator("#cd-rate")).to_contain_text("再次邀请评价")
        citizen.shoot("rating-mid-chat")
        rating.get_by_role("button", name="非常满意", exact=True).click()
        expect(chat.locator(".wc-thanks")).to_contain_text("感谢您的评价（非常满意）")
        expect(desk.locator("#cd-rate")).to_contain_text("已评价：非常满意")
        expect(desk.locator("#cd-rate")).to_be_disabled()
        expect(assist.locator("#ca-party")).to_contain_text("来电人评价：非常满意")
        agent.shoot("rated")

        session = Session.objects.get(channel="webchat")
        assert session.satisfaction == "非常满意" and session.state == SessionState.ACTIVE
        for p in persons:
            p.clean()
    finally:
        for p in persons:
            p.close()
