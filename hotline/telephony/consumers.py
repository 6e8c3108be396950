"""``/ws/medianode/`` — where media nodes of a distributed set-up connect
(``hotline medianode --platform ws://…/ws/medianode/ --token …``).

A node shows the node token (``Authorization: Bearer …``; wrong or none → closed with
4401) and then asks ``{"id", "call", "args"}``, one of ``node_calls.CALLS``; each is
answered ``{"id", "result"}`` — or ``{"id", "error"}`` in Chinese for an unknown call,
bad arguments or a refusal. Calls are served concurrently, so a slow one never holds up
the heartbeat or another call's status.
"""

import asyncio
import hmac
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.dateparse import parse_datetime

from hotline.core.consumers import CLOSE_UNAUTHENTICATED
from hotline.core.errors import HotlineError

from .node_calls import CALLS, node_token

log = logging.getLogger(__name__)


class MediaNodeConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        headers = dict(self.scope.get("headers", []))
        given = headers.get(b"authorization", b"").decode("latin1").removeprefix("Bearer ")
        if not given or not hmac.compare_digest(given.strip(), node_token()):
            log.warning("媒体节点连接被拒：令牌无效（%s）", self.scope.get("client"))
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.tasks: set[asyncio.Task] = set()
        log.info("媒体节点已连接：%s", self.scope.get("client"))

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return json.loads(text_data)
        except ValueError:
            return None

    async def receive_json(self, content, **kwargs):
        task = asyncio.get_running_loop().create_task(self._serve(content))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _serve(self, content) -> None:
        if not isinstance(content, dict):
            await self.send_json({"id": None, "error": "消息须为 JSON 对象"})
            return
        number, name, args = content.get("id"), content.get("call"), content.get("args", {})
        if name not in CALLS or not isinstance(args, dict):
            await self.send_json({"id": number, "error": f"未知的调用：{name}"})
            return
        try:
            result = await database_sync_to_async(CALLS[name])(**_with_times(args))
        except TypeError:
            answer = {"id": number, "error": f"调用 {name} 的参数不正确"}
        except HotlineError as error:
            answer = {"id": number, "error": error.message}
        except Exception:  # a node's call must never take the socket down
            log.exception("媒体节点调用 %s 出错", name)
            answer = {"id": number, "error": "平台处理出错"}
        else:
            answer = {"id": number, "result": result}
        await self.send_json(answer)


def _with_times(args: dict) -> dict:
    """Times travel as ISO text; the calls take them as datetimes (``…_at``)."""
    return {
        key: parse_datetime(value) if key.endswith("_at") and isinstance(value, str) else value
        for key, value in args.items()
    }
