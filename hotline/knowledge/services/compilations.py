"""汇编汇总 files: a compilation (selectors.compilations) as an xlsx workbook (one sheet per
list) and as a Word document (title, summary, three tables), and the worker's weekly and
monthly runs that store both under MEDIA_ROOT/kb/compilations/ for download."""

import datetime as dt
import io
import logging
from pathlib import Path

from django.utils import timezone
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from hotline.core.exports import styled_sheets
from hotline.core.models import Platform

from ..selectors import compilations as selectors
from ..selectors.compilations import Compilation, Row

log = logging.getLogger(__name__)

BODY_FONT = "宋体"  # the East Asian font of body text and tables
HEADING_FONT = "黑体"
LATIN_FONT = "Times New Roman"

COLUMNS = {
    # list: [(header, width in the xlsx, value of a row)]
    "added": [
        ("编号", 8, lambda r: r.id),
        ("标题", 48, lambda r: r.title),
        ("主题分类", 28, lambda r: r.category),
        ("知识形式", 10, lambda r: r.form),
        ("发布日期", 12, lambda r: r.at),
    ],
    "changed": [
        ("编号", 8, lambda r: r.id),
        ("标题", 48, lambda r: r.title),
        ("主题分类", 28, lambda r: r.category),
        ("知识形式", 10, lambda r: r.form),
        ("发布日期", 12, lambda r: r.at),
        ("版本", 6, lambda r: r.version),
        ("修改说明", 30, lambda r: r.note),
    ],
    "expired": [
        ("编号", 8, lambda r: r.id),
        ("标题", 48, lambda r: r.title),
        ("主题分类", 28, lambda r: r.category),
        ("知识形式", 10, lambda r: r.form),
        ("失效日期", 12, lambda r: r.at),
    ],
}


def _values(key: str, row: Row) -> list:
    return [value(row) for _, _, value in COLUMNS[key]]


# --- xlsx -----------------------------------------------------------------------------------------


def workbook(compilation: Compilation) -> bytes:
    """One sheet per list (新增知识, 变更知识, 失效知识), in the house style."""
    return styled_sheets(
        [
            (
                heading,
                [h for h, _, _ in COLUMNS[key]],
                [_values(key, row) for row in rows],
                [w for _, w, _ in COLUMNS[key]],
            )
            for key, heading, rows in compilation.sections
        ]
    )


# --- docx -----------------------------------------------------------------------------------------


def _east_asian(element, font: str) -> None:
    """Set the font of East Asian text (w:eastAsia): Word otherwise draws Chinese in the
    Latin font's fallback, which differs from machine to machine."""
    fonts = element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), font)


def _style(document, name: str, font: str, size: float, *, bold=None) -> None:
    style = document.styles[name]
    style.font.name = LATIN_FONT
    style.font.size = Pt(size)
    if bold is not None:
        style.font.bold = bold
    _east_asian(style.element, font)


def _cell_text(cell, text, *, bold=False) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run("" if text is None else str(text))
    run.bold = bold
    _east_asian(run._element, BODY_FONT)


def document(compilation: Compilation) -> bytes:
    """A Word document: the title, a summary with the counts, and the three lists as
    tables (A4, 宋体 for Chinese text, 黑体 for headings)."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2))
    _style(doc, "Normal", BODY_FONT, 10.5)
    _style(doc, "Title", HEADING_FONT, 18, bold=True)
    _style(doc, "Heading 1", HEADING_FONT, 14, bold=True)

    title = doc.add_paragraph(compilation.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(
        f"生成时间：{timezone.localtime():%Y-%m-%d %H:%M}"
    ).alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(compilation.summary)

    for key, heading, rows in compilation.sections:
        doc.add_paragraph(f"{heading}（{len(rows)} 条）", style="Heading 1")
        columns = [("序号", None)] + [(h, v) for h, _, v in COLUMNS[key][1:]]
        table = doc.add_table(rows=1, cols=len(columns))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, (header, _) in zip(table.rows[0].cells, columns, strict=True):
            _cell_text(cell, header, bold=True)
        if not rows:
            cells = table.add_row().cells
            merged = cells[0].merge(cells[-1])
            _cell_text(merged, "本期无")
        for number, row in enumerate(rows, start=1):
            cells = table.add_row().cells
            _cell_text(cells[0], number)
            for cell, (_, value) in zip(cells[1:], columns[1:], strict=True):
                _cell_text(cell, value(row))
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def filename(compilation: Compilation, fmt: str) -> str:
    """知识汇编-三亚市12345热线-2026-01-26至2026-02-01.xlsx (for downloads)."""
    return (
        f"知识汇编-{compilation.platform.name}-"
        f"{compilation.start:%Y-%m-%d}至{compilation.end:%Y-%m-%d}.{fmt}"
    )


# --- the worker's runs ----------------------------------------------------------------------------


def compilation_store(*, platform: Platform, kind: str, today: dt.date | None = None) -> list[Path]:
    """Write the compilation of the last complete week or month before ``today`` for one
    platform, as xlsx and docx (an earlier run of the same period is replaced)."""
    if kind not in ("week", "month"):
        raise ValueError(f"stored compilations are weekly or monthly, not {kind}")
    today = today or timezone.localdate()
    start, end = selectors.previous_period(kind, today)
    compilation = selectors.compile_period(platform, start, end, kind=kind)
    folder = selectors.store_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{platform.code}-{kind}-{selectors.period_label(kind, start)}"
    written = []
    for fmt, render in (("xlsx", workbook), ("docx", document)):
        path = folder / f"{stem}.{fmt}"
        partial = path.with_suffix(f".{fmt}.part")
        partial.write_bytes(render(compilation))
        partial.replace(path)  # readers never see half a file
        written.append(path)
    return written


def compilations_store_all(*, kind: str, today: dt.date | None = None) -> list[Path]:
    """The weekly or monthly run: every active platform that has knowledge articles."""
    written = []
    platforms = Platform.objects.filter(is_active=True, kb_articles__isnull=False).distinct()
    for platform in platforms.order_by("path"):
        written += compilation_store(platform=platform, kind=kind, today=today)
    log.info("stored %s %s compilations", len(written) // 2, kind)
    return written
