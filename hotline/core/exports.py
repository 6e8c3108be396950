"""Spreadsheet exports of the core context."""

import io
import json

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .audit import action_label
from .audit_display import change_summary, object_type_label

MAX_EXPORT_ROWS = 100_000


def styled_workbook(title: str, headers: list[str], rows, widths: list[int]) -> bytes:
    """A one-sheet xlsx with a bold frozen header row: the house style of every export."""
    return styled_sheets([(title, headers, rows, widths)])


def styled_sheets(sheets) -> bytes:
    """An xlsx of several sheets in the house style; ``sheets`` is a list of
    ``(title, headers, rows, widths)``, as :func:`styled_workbook` takes for one."""
    workbook = Workbook(write_only=False)
    workbook.remove(workbook.active)
    for title, headers, rows, widths in sheets:
        sheet = workbook.create_sheet(title[:31])
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
    headers = [
        "时间",
        "操作人",
        "IP 地址",
        "操作",
        "对象类型",
        "对象编号",
        "对象",
        "变更（前 → 后）",
        "说明",
        "请求号",
    ]

    def rows():
        for entry in entries[:MAX_EXPORT_ROWS]:
            yield [
                timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
                entry.actor_name,
                entry.ip or "",
                action_label(entry.action),
                object_type_label(entry.object_type),
                entry.object_id,
                entry.object_repr,
                change_summary(entry),
                json.dumps(entry.detail, ensure_ascii=False),
                entry.request_id,
            ]

    return styled_workbook("审计日志", headers, rows(), [20, 18, 16, 18, 18, 10, 28, 60, 40, 18])
