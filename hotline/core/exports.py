"""Spreadsheet exports of the core context."""

import io
import json

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

MAX_EXPORT_ROWS = 100_000


def styled_workbook(title: str, headers: list[str], rows, widths: list[int]) -> bytes:
    """A one-sheet xlsx with a bold frozen header row: the house style of every export."""
    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row in rows:
        sheet.append(row)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def audit_workbook(entries) -> bytes:
    headers = ["时间", "操作人", "IP 地址", "操作", "对象类型", "对象编号", "对象", "变更（前 → 后）", "说明", "请求号"]

    def rows():
        for entry in entries[:MAX_EXPORT_ROWS]:
            changes = "；".join(f"{k}: {v[0]} → {v[1]}" for k, v in entry.changes.items())
            yield [
                timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
                entry.actor_name, entry.ip or "", action_label(entry.action), entry.object_type,
                entry.object_id, entry.object_repr, changes,
                json.dumps(entry.detail, ensure_ascii=False), entry.request_id,
            ]

    return styled_workbook("审计日志", headers, rows(), [20, 18, 16, 18, 18, 10, 28, 60, 40, 18])


# Chinese names of audited actions, for the viewer and the export.
ACTION_LABELS = {
    "auth.login": "登录", "auth.logout": "退出", "auth.login_failed": "登录失败",
    "auth.locked": "账号锁定", "auth.login_refused_locked": "锁定期间尝试登录",
    "auth.session_timeout": "会话超时", "user.create": "新建账号", "user.update": "修改账号",
    "user.enable": "启用账号", "user.disable": "停用账号", "user.password_reset": "重置密码",
    "user.password_change": "修改密码", "user.unlock": "解除锁定", "user.skill_set": "设置技能",
    "role.assign": "分配角色", "role.revoke": "收回角色", "role.permission_grant": "授予权限",
    "role.permission_withdraw": "收回权限", "policy.update": "修改安全策略",
    "token.create": "申请令牌", "token.revoke": "吊销令牌", "phone.reveal": "查看完整号码",
    "platform.create": "新建平台", "platform.update": "修改平台", "unit.create": "新建承办单位",
    "unit.update": "修改承办单位", "team.create": "新建班组", "skill.create": "新建技能",
    "calendar.add": "新增日历安排", "calendar.update": "修改日历安排", "calendar.remove": "删除日历安排",
    "calendar.load_shipped": "导入节假日数据", "admin.change": "后台修改", "admin.add": "后台新增",
    "admin.delete": "后台删除", "system.init": "系统初始化",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)
