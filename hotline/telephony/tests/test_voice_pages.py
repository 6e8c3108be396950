"""The voice side in a real browser (1440×900): on 回拨任务 an agent with a phone sees 电话回拨,
how the last one went, and plays a voice message; on the 班长席 a leader sees the red
语音告警 of a media node gone silent. Watched for CSP violations and script errors;
screenshots go to ``screenshot_dir``."""

import datetime as dt
import pathlib
import re

import numpy as np
import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from hotline.contact import services as contact
from hotline.contact.models import Session
from hotline.telephony import prompts
from hotline.telephony.models import CallRecording, MediaNodeStatus, OutboundCall
from hotline.testing import SignedIn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def with_phone(make_user, role, username, name, phone, *, signed_in=True):
    """A person whose calls ring ``phone`` (signed in and ready, unless told otherwise)."""
    person = make_user(role, username=username, display_name=name)
    contact.agent_settings_update(actor=person, phone_uri=phone)
    if signed_in:
        contact.agent_sign_in(actor=person, ready=True)
    return person


def call_in_progress(org, agent, ref, number) -> Session:
    """A voice call the agent is on now (no media node needed for the pages)."""
    queue = contact.queue_create(actor=None, platform=org.sy, code="general", name="综合咨询")
    return Session.objects.create(
        ref=ref,
        platform=org.sy,
        channel="voice",
        address=number,
        state="active",
        agent=agent,
        queue=queue,
        offered_at=timezone.now(),
        answered_at=timezone.now(),
    )


def test_callback_tasks_and_the_floor_alarm_in_the_browser(
    browser, live_server, screenshot_dir, org, make_user
):
    agent = make_user("agent", username="agent_voice", display_name="话务员宋雨")
    contact.agent_settings_update(actor=agent, phone_uri="sip:8001@10.0.0.21:5060")
    leader = make_user("team_leader", username="leader_voice", display_name="值班长周健")
    now = timezone.now()
    task = Session.objects.create(
        ref="SYV20261123009",
        platform=org.sy,
        channel="voice",
        address="13977778888",
        state="closed",
        needs_callback=True,
        end_reason="left_request",
        ended_at=now,
    )
    relative = pathlib.Path("recordings/test/message.wav")
    (settings.MEDIA_ROOT / relative).parent.mkdir(parents=True, exist_ok=True)
    tone = (6000 * np.sin(2 * np.pi * 440 * np.arange(16000) / 8000)).astype(np.int16)
    prompts.write_wav(settings.MEDIA_ROOT / relative, tone)
    CallRecording.objects.create(
        session=task,
        file=str(relative),
        started_at=now,
        seconds=2.0,
        size=(settings.MEDIA_ROOT / relative).stat().st_size,
    )
    OutboundCall.objects.create(
        platform=org.sy,
        session=task,
        agent=agent,
        number=task.address,
        caller_id="12345",
        state="failed",
        result="来电人未接听：486 Busy Here",
        ended_at=now,
    )
    silent = now - dt.timedelta(minutes=2)
    MediaNodeStatus.objects.create(
        name="media-1:5080", address="10.0.0.5:5080", started_at=silent, last_seen=silent
    )

    desk = SignedIn(browser, live_server.url, agent, screenshot_dir, prefix="voice-")
    desk.goto("/contact/callbacks/")
    page = desk.page
    expect(page.get_by_role("button", name="电话回拨")).to_be_visible()
    expect(page.locator("[data-dial-state=failed]")).to_contain_text(
        "电话回拨：未接通（来电人未接听：486 Busy Here）"
    )
    expect(page.locator("audio.callback-voice")).to_have_count(1)
    expect(page.get_by_text("语音留言 2 秒")).to_be_visible()
    assert (
        page.evaluate(
            "fetch(document.querySelector('audio.callback-voice').src).then(r => r.status)"
        )
        == 200
    )
    desk.shoot("callbacks")
    with page.expect_navigation():
        page.get_by_role("button", name="电话回拨").click()
    expect(page.get_by_text("已发起电话回拨")).to_be_visible()
    desk.clean()

    floor = SignedIn(browser, live_server.url, leader, screenshot_dir, prefix="voice-")
    floor.goto("/floor/")
    expect(floor.page.locator("#floor-voice-alarm")).to_be_visible()
    expect(floor.page.locator("#floor-voice-alarms")).to_contain_text("媒体节点 media-1:5080 失联")
    floor.shoot("floor-alarm")
    floor.clean()
    desk.close()
    floor.close()


def test_the_floor_listens_in_and_the_desk_brings_in_110_in_the_browser(
    browser, live_server, screenshot_dir, org, make_user
):
    agent = with_phone(make_user, "agent", "agent_link", "话务员宋雨", "sip:8001@10.0.0.21:5060")
    leader = with_phone(
        make_user,
        "team_leader",
        "leader_link",
        "值班长周健",
        "sip:8009@10.0.0.29:5060",
        signed_in=False,
    )
    call_in_progress(org, agent, "SYV20261123021", "13966667777")

    floor = SignedIn(browser, live_server.url, leader, screenshot_dir, prefix="voice-")
    floor.goto("/floor/")
    page = floor.page
    page.locator(f".floor-tile[data-agent='{agent.pk}']").click()
    voice = page.locator(".floor-voice")
    expect(voice.get_by_role("button", name="监听")).to_be_enabled()
    voice.get_by_role("button", name="耳语").click()
    expect(voice.locator(".floor-voice-state")).to_contain_text("耳语：等待呼叫")
    expect(voice.get_by_role("button", name="耳语")).to_have_class(re.compile("active"))
    floor.shoot("floor-monitor")
    voice.get_by_role("button", name="结束").click()
    expect(voice.locator(".floor-voice-state")).to_have_count(0)
    floor.clean()

    desk = SignedIn(browser, live_server.url, agent, screenshot_dir, prefix="voice-")
    desk.goto("/desk/")
    page = desk.page
    page.get_by_role("button", name="联动转接").click()
    dialog = page.locator("#cd-linkage")
    expect(dialog.locator(".cd-linkage-target")).to_have_count(4)
    expect(dialog).to_contain_text("110 公安报警")
    page.wait_for_timeout(400)  # the modal's fade-in
    desk.shoot("linkage")
    dialog.get_by_label("直接转接").check()
    dialog.locator("#cd-linkage-submit").click()
    expect(page.locator(".cd-party-call")).to_contain_text("联动转接 · 110 公安报警（转接）")
    expect(page.locator(".cd-party-call")).to_contain_text("等待呼叫")
    expect(dialog).to_be_hidden()
    expect(page.locator(".modal-backdrop")).to_have_count(0)
    desk.shoot("linkage-record")
    desk.clean()
    floor.close()
    desk.close()


def test_the_callback_desk_sets_my_phone_and_dials_the_caller_in_the_browser(
    browser, live_server, screenshot_dir, org, users, make_user
):
    from hotline.telephony.models import OutboundCall
    from hotline.workorders import services as orders
    from hotline.workorders.tests.conftest import category

    order = orders.order_create(
        actor=users.agent,
        platform=org.sy,
        order_type="complaint",
        title="小区路灯不亮",
        content="凤凰路小区路灯已坏一周，夜间出行不便。",
        caller_name="王先生",
        caller_phone="13812345678",
        category=category(),
    )
    for actor, action, fields in (
        (users.dispatcher, "dispatch", {"unit": org.sy_units[0]}),
        (users.handler, "sign", {}),
        (users.handler, "reply", {"content": "已安排维修，路灯已恢复照明。"}),
        (users.dispatcher, "review-reply", {"approved": True}),
    ):
        orders.perform(actor=actor, order=order, action=action, **fields)
    caller = make_user("callback", username="callback_desk", display_name="回访员孙丽")

    desk = SignedIn(browser, live_server.url, caller, screenshot_dir, prefix="voice-")
    desk.goto("/callbacks/")
    page = desk.page
    expect(page.get_by_text("填写后即可在下方一键拨打来电人")).to_be_visible()
    expect(page.get_by_role("button", name="拨打")).to_have_count(0)
    page.get_by_label("我的话机").fill("sip:8101@10.0.0.31:5060")
    with page.expect_navigation():
        page.locator(".callback-phone").get_by_role("button", name="保存").click()
    expect(page.get_by_text("话机已保存")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="拨打").click()
    expect(page.get_by_text("已发起电话外呼")).to_be_visible()
    call = OutboundCall.objects.get()
    assert (call.order_id, call.number, call.state) == (order.pk, "13812345678", "requested")
    desk.shoot("callback-desk-dial")
    desk.clean()
    desk.close()


def test_recordings_search_in_the_browser(browser, live_server, screenshot_dir, org, make_user):
    agent = make_user("agent", username="agent_rec", display_name="话务员宋雨")
    leader = make_user("team_leader", username="leader_rec2", display_name="值班长周健")
    relative = pathlib.Path("recordings/test/search.wav")
    (settings.MEDIA_ROOT / relative).parent.mkdir(parents=True, exist_ok=True)
    tone = (6000 * np.sin(2 * np.pi * 440 * np.arange(16000) / 8000)).astype(np.int16)
    prompts.write_wav(settings.MEDIA_ROOT / relative, tone)
    for index, address in enumerate(("13977778888", "13811112222", "13566667777")):
        session = Session.objects.create(
            ref=f"SYV2026112300{index}",
            platform=org.sy,
            channel="voice",
            address=address,
            state="closed",
            agent=agent,
        )
        CallRecording.objects.create(
            session=session,
            agent=agent if index else None,
            file=str(relative),
            started_at=timezone.now() - dt.timedelta(minutes=index * 7),
            seconds=2.0 + index * 95,
            size=(settings.MEDIA_ROOT / relative).stat().st_size,
        )

    floor = SignedIn(browser, live_server.url, leader, screenshot_dir, prefix="voice-")
    floor.goto("/voice/recordings/")
    page = floor.page
    expect(page.locator(".recordings-table tbody tr")).to_have_count(3)
    page.get_by_label("类型").select_option("message")
    with page.expect_navigation():
        page.get_by_role("button", name="查询").click()
    expect(page.locator(".recordings-table tbody tr")).to_have_count(1)
    expect(page.locator(".recordings-table")).to_contain_text("语音留言")
    page.goto(live_server.url + "/voice/recordings/")
    floor.shoot("recordings")
    floor.clean()
    floor.close()


def test_my_phone_page_in_the_browser(browser, live_server, screenshot_dir, org, make_user):
    from hotline.telephony import services as voice

    agent = make_user("agent", username="agent_phone", display_name="话务员宋雨")
    voice.sip_account_set(actor=agent, extension="8001", password="desk2026pass")
    voice.sip_register(
        extension="8001",
        contact="sip:8001@10.0.0.21:5062",
        expires=3600,
        user_agent="Yealink SIP-T46U 108.86.0.20",
        node="media-1:5080",
    )
    desk = SignedIn(browser, live_server.url, agent, screenshot_dir, prefix="voice-")
    desk.goto("/voice/phone")
    page = desk.page
    expect(page.locator(".phone-facts")).to_contain_text("sip:8001@10.0.0.21:5062")
    expect(page.get_by_label("分机号")).to_have_value("8001")
    desk.shoot("my-phone")
    desk.clean()
    desk.close()


def test_the_desk_consults_a_colleague_before_transferring_in_the_browser(
    browser, live_server, screenshot_dir, org, make_user
):
    agent = with_phone(make_user, "agent", "agent_consult", "话务员宋雨", "sip:8001@10.0.0.21:5060")
    with_phone(make_user, "agent", "agent_consulted", "话务员林涛", "sip:8002@10.0.0.22:5060")
    call = call_in_progress(org, agent, "SYV20261123031", "13966660000")
    desk = SignedIn(browser, live_server.url, agent, screenshot_dir, prefix="voice-")
    desk.goto("/desk/")
    page = desk.page
    page.get_by_role("button", name="转接/升级").click()
    dialog = page.locator("#cd-transfer")
    dialog.get_by_text("转给坐席").click()
    dialog.get_by_text("话务员林涛").click()
    dialog.locator("#cd-transfer-summary").fill("来电人咨询社保转移，已说明办理材料")
    dialog.get_by_role("button", name="先咨询再转接").click()
    row = page.locator(".cd-party-call")
    expect(row).to_contain_text("咨询转接 · 话务员林涛")
    expect(row.get_by_role("button", name="完成转接")).to_be_disabled()  # not picked up yet
    expect(dialog).to_be_hidden()
    expect(page.locator(".modal-backdrop")).to_have_count(0)
    assert Session.objects.get(pk=call.pk).held_at is not None  # the caller holds
    desk.shoot("consult")
    row.get_by_role("button", name="取消咨询").click()
    expect(row).to_contain_text("坐席取消咨询")
    assert Session.objects.get(pk=call.pk).held_at is None
    desk.clean()
    desk.close()
