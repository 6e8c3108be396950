"""Fixtures of the voice tests: a media node on loopback (its own event loop in a
thread, as ``hotline medianode`` runs it), phones that call it, agents' desk phones it
calls, and a small flow."""

import asyncio
import itertools
import shutil
import threading

import pytest

from hotline.contact import services as contact
from hotline.telephony import services
from hotline.telephony.link import WebSocketLink
from hotline.telephony.node import MediaNode, NodeConfig
from hotline.telephony.node_calls import node_token

from .phone import AgentPhone, Phone

_ports = itertools.count(15080)
_rtp = itertools.count(20000, 100)


class LoopThread:
    """An event loop in a thread of its own; the test (synchronous, free to use the ORM)
    hands it coroutines."""

    def __init__(self, name: str):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


QUICK_FLOW = {
    "welcome": {"type": "play", "text": "您好", "next": "hours"},
    "hours": {"type": "hours", "queue": "general", "open": "menu", "closed": "closed"},
    "menu": {
        "type": "menu",
        "text": "人工服务请按二",
        "keys": {"2": "queue", "9": "bye"},
        "timeout": 3,
        "retries": 1,
        "invalid_text": "按键有误",
        "fail": "bye",
    },
    "queue": {"type": "queue", "queue": "general", "announce_every": 10, "after": "survey"},
    "survey": {
        "type": "survey",
        "text": "请评价，满意请按1",
        "timeout": 5,
        "retries": 0,
        "thanks": "感谢评价",
        "next": "bye",
    },
    "closed": {"type": "hangup", "text": "现在是非服务时间"},
    "bye": {"type": "hangup", "text": "再见"},
}


@pytest.fixture
def hotline(org):
    queue = contact.queue_create(actor=None, platform=org.sy, code="general", name="综合咨询")
    flow = services.ivr_flow_save(
        actor=None,
        platform=org.sy,
        code="quick",
        name="测试流程",
        number="12345",
        start="welcome",
        nodes=QUICK_FLOW,
    )
    return type("Hotline", (), {"platform": org.sy, "queue": queue, "flow": flow})


NO_TTS = "未安装 espeak-ng（Debian 软件包 espeak-ng），无法合成语音提示：跳过语音通话测试"


@pytest.fixture
def node(request):
    """A running media node: ``node.port``; ``node.loop.run(coro)``; ``node.phone()``."""
    if not shutil.which("espeak-ng"):
        pytest.skip(NO_TTS)
    marker = request.node.get_closest_marker("answer_delay")
    low = next(_rtp)
    config = NodeConfig(
        host="127.0.0.1",
        port=next(_ports),
        rtp_low=low,
        rtp_high=low + 100,
        answer_delay=marker.args[0] if marker else 0.0,
        heartbeat=0.2,
        trunk_probe_every=0.3,
        trunk_probe_wait=1.0,
    )
    link = None
    if request.node.get_closest_marker("linked_over_websocket"):
        # the distributed road: the node reaches the platform only through a web node
        server = request.getfixturevalue("live_server")
        url = server.url.replace("http://", "ws://") + "/ws/medianode/"
        link = WebSocketLink(url, node_token(), wait=5.0)
    loop = LoopThread("medianode")
    media = MediaNode(config, link)
    loop.run(media.start())
    phones = LoopThread("phones")
    opened = []

    def phone(**kwargs) -> Phone:
        made = phones.run(Phone(media.address[1], **kwargs).open())
        opened.append(made)
        return made

    def agent_phone(**kwargs) -> AgentPhone:
        made = phones.run(AgentPhone(**kwargs).open())
        opened.append(made)
        return made

    media.loop, media.phones, media.phone = loop, phones, phone
    media.agent_phone = agent_phone
    media.serve_callbacks_threadsafe = lambda trunk: loop.loop.call_soon_threadsafe(
        media.serve_callbacks, trunk
    )
    yield media
    for made in opened:
        phones.loop.call_soon_threadsafe(made.close)
    loop.run(media.stop())
    loop.close()
    phones.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "answer_delay(seconds): the node rings this long")
    config.addinivalue_line(
        "markers", "linked_over_websocket: the node reaches the platform through a web node"
    )
