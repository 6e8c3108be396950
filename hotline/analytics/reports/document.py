"""A report as a Word document (DOCX, python-docx), with its charts drawn by matplotlib
in Noto Sans CJK SC: title, period, then each section's heading, sentences, charts and
tables — what Chinese offices exchange."""

import io
import os
import tempfile

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from . import base

FONT = "Noto Sans CJK SC"
HEADER_FILL = "1F4E79"  # the xlsx exports' header colour
MAX_TABLE_ROWS = 60
TEXT_WIDTH_CM = (
    16.6  # A4 less the margins  # longer tables: the first rows here, all of them in the xlsx
)


def _font(style_or_run, size: float | None = None, bold: bool | None = None) -> None:
    font = style_or_run.font
    font.name = FONT
    if size:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    element = style_or_run.element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)


def _shade(cell, colour: str) -> None:
    props = cell._tc.get_or_add_tcPr()
    shading = props.makeelement(
        qn("w:shd"), {qn("w:val"): "clear", qn("w:color"): "auto", qn("w:fill"): colour}
    )
    props.append(shading)


# --- charts ---------------------------------------------------------------------------------


def chart_png(chart: base.Chart) -> bytes:
    """One chart as a PNG (matplotlib, Agg, CJK font)."""
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "hotline-mpl"))
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    plt.rcParams["font.family"] = FONT
    plt.rcParams["axes.unicode_minus"] = False
    colours = ["#1F4E79", "#E07B39", "#3C9D5D", "#B3261E"]
    height = 3.2 if chart.kind != "barh" else max(2.6, 0.32 * len(chart.labels) + 0.9)
    figure, axes = plt.subplots(figsize=(6.4, height), dpi=160)
    try:
        if chart.kind == "line":
            positions = range(len(chart.labels))
            for (name, values), colour in zip(chart.series, colours, strict=False):
                axes.plot(
                    positions,
                    values,
                    marker="o",
                    markersize=2.5,
                    linewidth=1.4,
                    label=name,
                    color=colour,
                )
            step = max(1, -(-len(chart.labels) // 16))
            axes.set_xticks(list(positions)[::step])
            axes.set_xticklabels(chart.labels[::step], fontsize=7)
        elif chart.kind == "barh":
            labels = list(reversed(chart.labels))
            values = list(reversed(chart.series[0][1]))
            bars = axes.barh(labels, values, color=colours[0])
            axes.bar_label(bars, fontsize=7, padding=2)
            axes.tick_params(axis="y", labelsize=8)
            axes.margins(x=0.12)
        else:
            bars = axes.bar(chart.labels, chart.series[0][1], color=colours[0])
            axes.bar_label(bars, fontsize=7, padding=2)
            axes.tick_params(axis="x", labelsize=8)
            axes.margins(y=0.15)
        axes.set_title(chart.title, fontsize=10)
        if chart.unit:
            (axes.set_xlabel if chart.kind == "barh" else axes.set_ylabel)(chart.unit, fontsize=8)
        axes.tick_params(labelsize=7)
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="x" if chart.kind == "barh" else "y", alpha=0.3)
        if chart.kind == "line" and len(chart.series) > 1:
            axes.legend(fontsize=7, frameon=False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


# --- the document ---------------------------------------------------------------------------


def docx(report: base.Report) -> bytes:
    document = Document()
    page = document.sections[0]
    page.page_width, page.page_height = Cm(21), Cm(29.7)
    page.left_margin = page.right_margin = Cm(2.2)
    page.top_margin = page.bottom_margin = Cm(2.2)
    for name, size in (("Normal", 10.5), ("Title", 20), ("Heading 1", 14), ("Heading 2", 12)):
        _font(document.styles[name], size)
    for name in ("Title", "Heading 1", "Heading 2"):
        document.styles[name].font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)

    title = document.add_heading(report.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    line = document.add_paragraph(
        f"{report.subtitle}　　生成时间：{report.generated_at.astimezone(base.TZ):%Y-%m-%d %H:%M}"
    )
    line.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if report.note:
        note = document.add_paragraph(report.note)
        note.runs[0].italic = True

    for section in report.sections:
        document.add_heading(section.title, level=1)
        for sentence in section.paragraphs:
            paragraph = document.add_paragraph(sentence)
            paragraph.paragraph_format.first_line_indent = Pt(21)
            paragraph.paragraph_format.line_spacing = 1.35
        for chart in section.charts:
            if not chart.labels:
                continue
            document.add_picture(io.BytesIO(chart_png(chart)), width=Cm(15.5))
            document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        for table in section.tables:
            _table(document, table)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _table(document, table: base.Table) -> None:
    caption = document.add_heading(table.title, level=2)
    caption.paragraph_format.space_before = Pt(8)
    rows = table.rows[:MAX_TABLE_ROWS]
    if not rows:
        document.add_paragraph("（本期无数据）")
        return
    grid = document.add_table(rows=1 + len(rows), cols=len(table.headers))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    widths = table.widths or [10] * len(table.headers)
    scale = TEXT_WIDTH_CM / sum(widths)
    for column, width in zip(grid.columns, widths, strict=False):
        for cell in column.cells:
            cell.width = Cm(width * scale)
    for index, header in enumerate(table.headers):
        cell = grid.rows[0].cells[index]
        cell.text = str(header)
        _shade(cell, HEADER_FILL)
        run = cell.paragraphs[0].runs[0]
        _font(run, 8, bold=True)
        run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
    for r, row in enumerate(rows, start=1):
        cells = grid.rows[r].cells
        for index, value in enumerate(row):
            text = (
                f"{value:,}"
                if isinstance(value, int) and not isinstance(value, bool)
                else str(value)
            )
            cells[index].text = text
            paragraph = cells[index].paragraphs[0]
            if index and _numeric(text):
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            for run in paragraph.runs:
                _font(run, 8, bold=row[0] == "合计" or None)
    notes = []
    if len(table.rows) > MAX_TABLE_ROWS:
        notes.append(f"仅列出前 {MAX_TABLE_ROWS} 行，共 {len(table.rows)} 行，完整数据见 xlsx")
    if table.note:
        notes.append(table.note)
    if notes:
        paragraph = document.add_paragraph("注：" + "；".join(notes) + "。")
        _font(paragraph.runs[0], 8)


def _numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace("%", "").replace(".", "", 1).lstrip("-")
    return stripped.isdigit() or text == "—"
