"""The audit trail (审计日志): who did what, when, from where, with a before/after diff.

Services call :func:`record` inside their transaction, so an audited write and its audit
row commit or roll back together. The request (or CLI, or worker) that caused the write
is taken from a context variable set by ``RequestContextMiddleware`` and the API auth.
"""

import contextvars
import datetime
import decimal
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import models

from .models import AuditEntry


@dataclass(frozen=True)
class Origin:
    """Where a write comes from: a person's request, the CLI, or the worker."""

    actor: object | None = None  # a User, or None for the system
    ip: str | None = None
    request_id: str = ""
    channel: str = "system"  # web | api | cli | worker | system

    @property
    def actor_name(self) -> str:
        if self.actor is not None:
            return str(self.actor)
        return {"cli": "命令行", "worker": "后台任务"}.get(self.channel, "系统")


_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar(
    "audit_origin", default=None
)
SYSTEM = Origin()


def current_origin() -> Origin:
    return _origin.get() or SYSTEM


@contextmanager
def origin(**kwargs):
    """Run a block on behalf of an origin (``with audit.origin(channel="cli"): ...``)."""
    kwargs.setdefault("request_id", uuid.uuid4().hex[:16])
    token = _origin.set(Origin(**kwargs))
    try:
        yield
    finally:
        _origin.reset(token)


def set_origin(value: Origin):
    return _origin.set(value)


def reset_origin(token) -> None:
    _origin.reset(token)


def _plain(value):
    """JSON-safe rendering of a field value for the diff."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


REDACTED_FIELDS = {"password", "key_hash"}


def snapshot(instance: models.Model, fields=None) -> dict:
    """The concrete field values of a model instance, for before/after comparison."""
    values = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        value = field.value_from_object(instance)
        values[field.name] = "******" if field.name in REDACTED_FIELDS else _plain(value)
    return values


def diff(before: dict | None, after: dict | None) -> dict:
    """{field: [before, after]} for every field that differs."""
    before, after = before or {}, after or {}
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    detail: dict | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    actor=None,
) -> AuditEntry:
    """Append one audit row for the current origin (``actor`` overrides it, e.g. for a
    login attempt, which is made by the account before anyone is signed in)."""
    source = current_origin()
    if actor is not None:
        source = Origin(
            actor=actor, ip=source.ip, request_id=source.request_id, channel=source.channel
        )
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    actor = source.actor if getattr(source.actor, "pk", None) else None
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=source.actor_name[:100],
        ip=source.ip,
        request_id=source.request_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        changes=diff(before, after),
        detail={"channel": source.channel, **(detail or {})},
    )


# Chinese names of audited actions, for the viewer and the export. Contexts add theirs
# with ACTION_LABELS.update(...) in their apps' ready().
ACTION_LABELS = {
    "auth.login": "登录",
    "auth.logout": "退出",
    "auth.login_failed": "登录失败",
    "auth.locked": "账号锁定",
    "auth.login_refused_locked": "锁定期间尝试登录",
    "auth.session_timeout": "会话超时",
    "user.create": "新建账号",
    "user.update": "修改账号",
    "user.enable": "启用账号",
    "user.disable": "停用账号",
    "user.password_reset": "重置密码",
    "user.password_change": "修改密码",
    "user.unlock": "解除锁定",
    "user.skill_set": "设置技能",
    "role.assign": "分配角色",
    "role.revoke": "收回角色",
    "role.permission_grant": "授予权限",
    "role.permission_withdraw": "收回权限",
    "policy.update": "修改安全策略",
    "token.create": "申请令牌",
    "token.revoke": "吊销令牌",
    "phone.reveal": "查看完整号码",
    "platform.create": "新建平台",
    "platform.update": "修改平台",
    "unit.create": "新建承办单位",
    "unit.update": "修改承办单位",
    "team.create": "新建班组",
    "team.update": "修改班组",
    "skill.create": "新建技能",
    "calendar.add": "新增日历安排",
    "calendar.update": "修改日历安排",
    "calendar.remove": "删除日历安排",
    "calendar.load_shipped": "导入节假日数据",
    "audit.export": "导出审计日志",
    "admin.change": "后台修改",
    "admin.add": "后台新增",
    "admin.delete": "后台删除",
    "system.init": "系统初始化",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)
