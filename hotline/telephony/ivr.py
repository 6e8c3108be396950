"""IVR 流程的节点种类 — declared once: the check, the node's interpreter and the docs read this.

A flow is ``{"start": name, "nodes": {name: step}}``; each step has a ``type``:

* ``play`` 播放 — a prompt or an information message: ``text`` (Mandarin TTS) or
  ``recording`` (an uploaded WAV under the prompts folder), then ``next``.
* ``menu`` 按键菜单 — plays ``text``, waits ``timeout`` seconds for a key of ``keys``
  (``{"1": node, …}``); a wrong key or silence replays it up to ``retries`` times
  (saying ``invalid_text`` after a wrong key), then goes to ``fail``.
* ``hours`` 服务时间分支 — ``open`` or ``closed`` by the hours of queue ``queue``
  (the queue's weekly hours and dated exceptions, as the ACD reads them).
* ``caller`` 来电号码分支 — by the caller's number: ``black`` (黑名单), ``white``
  (白名单), ``vip`` (重点来电人) or ``priority`` (a queue's 指定优先号码), the first that
  applies and is given, else ``other``. (The queue step refuses blacklisted callers and
  puts priority callers first by itself; this branch is for flows that treat them apart.)
* ``queue`` 进入队列 — the call enters contact-center queue ``queue`` (its code); the
  caller hears music on hold (``hold``: ``tone``) and 排队通报 every ``announce_every``
  seconds (0: never). Refused out of hours with 留言，转回拨任务, the caller hears the
  notice, a beep, and leaves a voice message (``voicemail_seconds``, 60; ``voicemail``:
  false to skip) filed with the callback task. When the agent's phone answers the two are
  bridged and recorded;
  when the agent hangs up first the caller goes on to ``after`` (e.g. the survey), if
  given, else the call ends.
* ``survey`` 满意度评价 — plays ``text`` and waits ``timeout`` seconds for 1–5 (非常满意 …
  非常不满意), stored on the contact session; says ``thanks`` and goes to ``next``.
* ``hangup`` 挂机 — says ``text`` if any, then hangs up.
"""

from hotline.core.errors import Unprocessable

KINDS = {
    "play": ("播放", ("next",)),
    "menu": ("按键菜单", ("fail",)),
    "hours": ("服务时间分支", ("open", "closed")),
    "caller": ("来电号码分支", ("other",)),
    "queue": ("进入队列", ()),
    "survey": ("满意度评价", ("next",)),
    "hangup": ("挂机", ()),
}
# how the pages and the refusals name a step's fields
FIELD_LABELS = {
    "next": "下一节点",
    "fail": "无有效按键时",
    "open": "服务时间内",
    "closed": "非服务时间",
    "other": "其他号码",
    "after": "坐席挂机后",
    "black": "黑名单",
    "white": "白名单",
    "vip": "重点来电人",
    "priority": "指定优先号码",
    "timeout": "等待秒数",
    "retries": "重试次数",
    "text": "播放文字",
    "invalid_text": "按键错误提示",
    "thanks": "致谢语",
    "queue": "队列",
    "recording": "录音",
}
DIGITS = set("0123456789*#")
CALLER_KINDS = ("black", "white", "vip", "priority")  # checked in this order
MAX_NODES = 200


def check(start: str, nodes: dict, queue_codes: set[str]) -> None:
    """Refuse a flow a call could get lost in: unknown kinds, links to missing nodes or
    queues, a menu without keys, a play with nothing to say."""
    if not isinstance(nodes, dict) or not nodes:
        raise Unprocessable("流程至少需要一个节点", field="nodes")
    if len(nodes) > MAX_NODES:
        raise Unprocessable(f"节点不能超过 {MAX_NODES} 个", field="nodes")
    if start not in nodes:
        raise Unprocessable(f"起始节点“{start}”不存在", field="start")
    for name, step in nodes.items():
        where = f"节点“{name}”"
        if not isinstance(step, dict) or step.get("type") not in KINDS:
            raise Unprocessable(f"{where}的类型无效", field="nodes")
        kind = step["type"]
        for link in KINDS[kind][1]:
            if step.get(link) not in nodes:
                label = FIELD_LABELS[link]
                raise Unprocessable(f"{where}的“{label}”指向不存在的节点", field="nodes")
        for optional in ("after", *(CALLER_KINDS if kind == "caller" else ())):
            if step.get(optional) is not None and step[optional] not in nodes:
                label = FIELD_LABELS[optional]
                raise Unprocessable(f"{where}的“{label}”指向不存在的节点", field="nodes")
        if kind in ("play", "survey") and not (step.get("text") or step.get("recording")):
            raise Unprocessable(f"{where}需要播放文本或录音", field="nodes")
        if kind == "menu":
            keys = step.get("keys") or {}
            if not keys or not isinstance(keys, dict):
                raise Unprocessable(f"{where}至少需要一个按键", field="nodes")
            for key, target in keys.items():
                if key not in DIGITS:
                    raise Unprocessable(f"{where}的按键“{key}”无效", field="nodes")
                if target not in nodes:
                    raise Unprocessable(f"{where}按键“{key}”指向不存在的节点", field="nodes")
        if kind in ("menu", "survey"):
            for number, low, high in (("timeout", 1, 60), ("retries", 0, 9)):
                value = step.get(number, low)
                if not isinstance(value, int) or not low <= value <= high:
                    label = FIELD_LABELS[number]
                    raise Unprocessable(f"{where}的“{label}”应在 {low}–{high} 之间", field="nodes")
        if kind in ("hours", "queue") and step.get("queue") not in queue_codes:
            raise Unprocessable(f"{where}的队列“{step.get('queue')}”不存在", field="nodes")
        if kind == "queue":
            every = step.get("announce_every", 30)
            if not isinstance(every, int) or not (every == 0 or 10 <= every <= 600):
                raise Unprocessable(f"{where}的排队通报间隔应为 0 或 10–600 秒", field="nodes")


def default_nodes(queue_code: str) -> tuple[str, dict]:
    """The shipped flow: welcome, hours branch, a two-key menu, the queue."""
    return "welcome", {
        "welcome": {
            "type": "play",
            "text": "您好，欢迎致电12345政务服务便民热线。",
            "next": "hours",
        },
        "hours": {"type": "hours", "queue": queue_code, "open": "menu", "closed": "closed"},
        "menu": {
            "type": "menu",
            "text": "政策咨询请按1，人工服务请按2。",
            "keys": {"1": "info", "2": "queue"},
            "timeout": 5,
            "retries": 2,
            "invalid_text": "您的按键有误。",
            "fail": "queue",
        },
        "info": {
            "type": "play",
            "text": "您可以登录政务服务网查询办事指南。",
            "next": "menu",
        },
        "queue": {
            "type": "queue",
            "queue": queue_code,
            "announce_every": 30,
            "hold": "tone",
            "after": "survey",
        },
        "survey": {
            "type": "survey",
            "text": "请对本次服务进行评价：非常满意请按1，满意请按2，基本满意请按3，"
            "不满意请按4，非常不满意请按5。",
            "timeout": 8,
            "thanks": "感谢您的评价，再见。",
            "next": "end",
        },
        "end": {"type": "hangup"},
        "closed": {
            "type": "hangup",
            "text": "现在是非服务时间，请在工作时间再次来电，感谢您的来电。",
        },
    }
