"""A call's recording on the work order made from the call: the agent who took the call
hears it on the order page (and may download it, audited); a colleague who may see the
order but not the call does not."""

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
    url = f"/voice/recordings/{recording.pk}.wav"
    agent = login(users.agent)
    page = agent.get(f"/orders/{order.number}/").content.decode()
    assert url in page and "通话录音" in page
    download = agent.get(url + "?download=1")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert AuditEntry.objects.filter(action="telephony.recording.play").count() == 1

    colleague = make_user("agent", username="agent_colleague", display_name="话务员周洁")
    page = login(colleague).get(f"/orders/{order.number}/")
    assert page.status_code == 200 and url not in page.content.decode()
    assert login(colleague).get(url).status_code == 404
