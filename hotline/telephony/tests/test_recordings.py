"""A call's recording (and the caller's key rating) on the work order made from the call:
the agent who took the call hears it on the order page (and may download it, audited); a
colleague who may see the order but not the call does not. 录音查询 finds recordings."""

import pathlib

import numpy as np
from django.conf import settings
from django.utils import timezone

from hotline.contact.models import Session
from hotline.core.models import AuditEntry
from hotline.telephony import prompts
from hotline.telephony.models import CallRecording
from hotline.workorders import services as orders
from hotline.workorders.tests.conftest import category


def test_the_orders_recording_plays_for_the_agent_of_the_call_only(org, users, make_user, login):
    session = Session.objects.create(
        ref="SYV20261123001",
        platform=org.sy,
        channel="voice",
        address="13800001111",
        agent=users.agent,
        state="closed",
    )
    relative = pathlib.Path("recordings/test/SYV20261123001.wav")
    (settings.MEDIA_ROOT / relative).parent.mkdir(parents=True, exist_ok=True)
    prompts.write_wav(settings.MEDIA_ROOT / relative, np.zeros(8000, dtype=np.int16))
    recording = CallRecording.objects.create(
        session=session,
        agent=users.agent,
        file=str(relative),
        started_at=timezone.now(),
        seconds=1.0,
        size=(settings.MEDIA_ROOT / relative).stat().st_size,
    )
    order = orders.order_create(
        actor=users.agent,
        platform=org.sy,
        order_type="complaint",
        title="夜间施工噪音扰民",
        content="来电人反映小区旁工地夜间施工，噪音很大。",
        caller_name="李女士",
        caller_phone="13800001111",
        category=category(),
        session_ref=session.ref,
    )
    Session.objects.filter(pk=session.pk).update(satisfaction="满意")  # pressed 2 at the end
    url = f"/voice/recordings/{recording.pk}.wav"
    agent = login(users.agent)
    page = agent.get(f"/orders/{order.number}/").content.decode()
    assert url in page and "通话录音" in page
    assert "通话评价" in page and "满意" in page
    download = agent.get(url + "?download=1")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert AuditEntry.objects.filter(action="telephony.recording.play").count() == 1

    colleague = make_user("agent", username="agent_colleague", display_name="话务员周洁")
    page = login(colleague).get(f"/orders/{order.number}/")
    assert page.status_code == 200 and url not in page.content.decode()
    assert login(colleague).get(url).status_code == 404


def _recording(relative: str, **fields) -> CallRecording:
    path = settings.MEDIA_ROOT / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    prompts.write_wav(path, np.zeros(8000, dtype=np.int16))
    return CallRecording.objects.create(
        file=relative, size=path.stat().st_size, seconds=fields.pop("seconds", 30.0), **fields
    )


def test_leaders_find_recordings_by_kind_number_agent_and_length(org, users, make_user, login):
    from hotline.telephony.models import OutboundCall

    leader = make_user("team_leader", username="leader_rec", display_name="值班长周健")
    now = timezone.now()
    call_session = Session.objects.create(
        ref="SYV1", platform=org.sy, channel="voice", address="13800001111", state="closed"
    )
    task = Session.objects.create(
        ref="SYV2", platform=org.sy, channel="voice", address="13900002222", state="closed"
    )
    order = orders.order_create(
        actor=users.agent,
        platform=org.sy,
        order_type="complaint",
        title="噪音扰民",
        content="夜间施工噪音扰民。",
        caller_name="李女士",
        caller_phone="13700003333",
        category=category(),
    )
    dialled = OutboundCall.objects.create(
        platform=org.sy, order=order, agent=users.agent, number="13700003333", caller_id="12345"
    )
    callback = OutboundCall.objects.create(
        platform=org.sy, session=task, agent=users.agent, number="13900002222", caller_id="12345"
    )
    _recording("recordings/t/in.wav", session=call_session, agent=users.agent, started_at=now)
    _recording("recordings/t/msg.wav", session=task, started_at=now, seconds=8.0)
    _recording(
        "recordings/t/cb.wav", session=task, call=callback, agent=users.agent, started_at=now
    )
    out = _recording("recordings/t/out.wav", call=dialled, agent=users.agent, started_at=now)
    yz = Session.objects.create(
        ref="YZV1", platform=org.yz, channel="voice", address="1", state="closed"
    )
    _recording("recordings/t/yz.wav", session=yz, agent=users.yz_agent, started_at=now)

    client = login(leader)
    page = client.get("/voice/recordings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<audio") == 4  # not the other platform's
    for label in ("来电", "电话回拨", "工单外呼", "语音留言"):
        assert label in html
    assert "138****1111" in html and "13800001111" not in html  # numbers masked

    def found(**query):
        response = client.get("/voice/recordings/", query)
        return response.status_code, response.content.decode().count("<audio")

    assert found(kind="order") == (200, 1)
    assert found(kind="message") == (200, 1)
    assert found(number="0000222") == (200, 2)  # the message and the callback
    assert found(ref=order.number) == (200, 1)
    assert found(min_seconds="10") == (200, 3)
    assert found(agent=str(users.agent.pk)) == (200, 3)
    html = client.get("/voice/recordings/", {"kind": "order"}).content.decode()
    assert f"/orders/{order.number}/" in html and f"/voice/recordings/{out.pk}.wav" in html

    bad = client.get("/voice/recordings/", {"number": "abc", "start": "2026-13-01"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "来电号码须为 3–20 位数字" in text and "开始日期格式不正确" in text
    reversed_range = client.get("/voice/recordings/", {"start": "2026-11-02", "end": "2026-11-01"})
    assert (
        reversed_range.status_code == 400
        and "开始日期不能晚于结束日期" in reversed_range.content.decode()
    )
    assert login(users.agent).get("/voice/recordings/").status_code == 403
