"""媒体节点与中继告警: a running node reports itself; its trunk is probed with OPTIONS and
a trunk that does not answer is an alarm on the wall and the 班长席; a node that stops
saying so is no alarm, a node that goes silent is."""

import datetime as dt

import pytest
from django.utils import timezone

from hotline.analytics import wall
from hotline.telephony import selectors
from hotline.telephony.models import MediaNodeStatus

from .phone import HOST
from .test_call import until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_node_reports_itself_and_its_trunk(node, hotline):
    row = until(lambda: MediaNodeStatus.objects.filter(name=node.name).first())
    assert row.address.endswith(f":{node.address[1]}") and row.stopped_at is None
    health = selectors.voice_health()
    assert health["label"] == "语音节点：1 个正常" and health["connected"]
    assert health["trunk_label"] == "中继：未探测" and health["alarms"] == []

    gateway = node.agent_phone()  # a trunk that answers OPTIONS
    node.serve_callbacks_threadsafe(f"{HOST}:{gateway.sip_port}")
    until(lambda: selectors.voice_health()["trunk_label"] == "中继：正常")
    assert wall.voice_health(hotline.platform)["trunk_ok"] is True


def test_a_trunk_that_does_not_answer_is_an_alarm_on_the_wall_and_the_floor(
    node, hotline, make_user, login
):
    dead = f"{HOST}:9"  # the discard port: nobody answers there
    node.serve_callbacks_threadsafe(dead)
    until(lambda: selectors.voice_health()["trunk_ok"] is False, timeout=10)
    health = selectors.voice_health()
    assert health["alarms"] == [f"中继线路异常：{dead} 无响应"]
    assert health["trunk_label"] == "中继：异常"

    leader = make_user("team_leader", username="leader_voice", display_name="值班长周健")
    floor = login(leader).get("/api/contact/floor").json()
    assert floor["voice_alarms"] == [f"中继线路异常：{dead} 无响应"]


def test_a_stopped_node_is_no_alarm_a_silent_one_is(db):
    now = timezone.now()
    MediaNodeStatus.objects.create(
        name="node-a:5080", address="10.0.0.1:5080", started_at=now, last_seen=now
    )
    MediaNodeStatus.objects.create(
        name="node-b:5080",
        address="10.0.0.2:5080",
        started_at=now,
        last_seen=now - dt.timedelta(minutes=5),
        stopped_at=now - dt.timedelta(minutes=5),
    )
    silent = now - dt.timedelta(seconds=selectors.SILENT_AFTER + 1)
    MediaNodeStatus.objects.create(
        name="node-c:5080", address="10.0.0.3:5080", started_at=silent, last_seen=silent
    )
    health = selectors.voice_health(now)
    assert [n["state"] for n in health["nodes"]] == ["正常", "已停止", "失联"]
    assert health["label"] == "语音节点：1 个正常，1 个失联"
    (alarm,) = health["alarms"]
    assert alarm.startswith("媒体节点 node-c:5080 失联（最后心跳 ")
