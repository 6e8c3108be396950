"""The voice side in a real browser (1440×900): on 回拨任务 an agent with a phone sees 电话回拨,
how the last one went, and plays a voice message; on the 班长席 a leader sees the red
语音告警 of a media node gone silent. Watched for CSP violations and script errors;
screenshots go to ``screenshot_dir``."""

import datetime as dt
import pathlib

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
