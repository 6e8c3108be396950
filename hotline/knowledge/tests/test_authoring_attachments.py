"""Attachments (附件) and the editor's images: type and size checks, and the text of real
files — pdf, docx, xlsx, txt (UTF-8 and GB18030), Word 97 .doc — extracted and made
searchable. The files are made here, tiny but real: a PDF with a CID font and a ToUnicode
map, a .doc as a compound file with a piece table."""

# ruff: noqa: F811 — the fixtures are imported from authoring_fixtures

import io
import struct

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from hotline.core.errors import Conflict, Forbidden, Unprocessable
from hotline.core.models import AuditEntry
from hotline.knowledge import content
from hotline.knowledge.models import Article, ArticleAttachment
from hotline.knowledge.services import articles as services

from .authoring_fixtures import article, kb  # noqa: F401

pytestmark = pytest.mark.django_db

TEXT = "住房公积金提取须知：申请人须提供身份证和购房合同。"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- tiny real files -------------------------------------------------------------------------------


def make_pdf(text: str) -> bytes:
    """A one-page PDF whose text is drawn with a CID font (Identity-H) and a ToUnicode map,
    the way Chinese PDFs carry their text."""
    chars = list(dict.fromkeys(text))
    code = {c: i + 1 for i, c in enumerate(chars)}
    shown = "".join(f"{code[c]:04X}" for c in text)
    stream = f"BT /F1 12 Tf 40 780 Td <{shown}> Tj ET".encode()
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(chars)} beginbfchar\n"
        + "".join(f"<{code[c]:04X}> <{ord(c):04X}>\n" for c in chars)
        + "endbfchar endcmap CMapName currentdict /CMap defineresource pop end end"
    ).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_docx(text: str) -> bytes:
    document = docx.Document()
    document.add_heading("办事指南", level=1)
    document.add_paragraph(text)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "办理地点"
    table.rows[0].cells[1].text = "市政务服务中心二楼"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "收费标准"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def make_doc(ascii_part: str, chinese_part: str) -> bytes:
    """A Word 97 document: a compound file with a WordDocument stream (FIB, then the text
    in two pieces — one compressed cp1252, one UTF-16) and a small 1Table stream (the
    piece table), kept in the compound file's mini stream."""
    sector = 512
    text_a, text_b = ascii_part.encode("cp1252"), chinese_part.encode("utf-16-le")
    n_a, n_b = len(ascii_part), len(chinese_part)
    word = bytearray(4608)  # ≥ 4096: a regular stream
    struct.pack_into("<HH", word, 0, 0xA5EC, 0x00C1)
    struct.pack_into("<H", word, 0x0A, 0x0200)  # fWhichTblStm: the table is 1Table
    struct.pack_into("<i", word, 0x4C, n_a + n_b)  # ccpText
    word[1024 : 1024 + len(text_a)] = text_a
    word[2048 : 2048 + len(text_b)] = text_b
    plc = struct.pack("<III", 0, n_a, n_a + n_b)
    plc += struct.pack("<HIH", 0, (1024 * 2) | 0x40000000, 0)  # compressed piece
    plc += struct.pack("<HIH", 0, 2048, 0)  # UTF-16 piece
    clx = b"\x01" + struct.pack("<h", 2) + b"\x00\x00"  # one Prc (skipped)
    clx += b"\x02" + struct.pack("<I", len(plc)) + plc
    struct.pack_into("<II", word, 0x1A2, 0, len(clx))
    table = clx  # < 4096: lives in the mini stream
    mini_sectors = (len(table) + 63) // 64
    mini_stream = table + b"\x00" * (mini_sectors * 64 - len(table))
    mini_stream_sectors = (len(mini_stream) + sector - 1) // sector
    word_sectors = len(word) // sector
    # sectors: 0 FAT, 1 directory, 2 mini FAT, 3.. mini stream, then WordDocument
    first_mini, first_word = 3, 3 + mini_stream_sectors
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    fat = [0xFFFFFFFD, end, end]
    fat += [first_mini + i + 1 for i in range(mini_stream_sectors - 1)] + [end]
    fat += [first_word + i + 1 for i in range(word_sectors - 1)] + [end]
    fat += [free] * (128 - len(fat))
    mini_fat = [i + 1 for i in range(mini_sectors - 1)] + [end]
    mini_fat += [free] * (128 - len(mini_fat))

    def entry(name, kind, start, size, child=free, right=free):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        block = bytearray(128)
        block[: len(raw)] = raw
        struct.pack_into("<HBB", block, 64, len(raw), kind, 1)
        struct.pack_into("<III", block, 68, free, right, child)
        struct.pack_into("<II", block, 116, start, size)
        return bytes(block)

    directory = (
        entry("Root Entry", 5, first_mini, len(mini_stream), child=1)
        + entry("WordDocument", 2, first_word, len(word), right=2)
        + entry("1Table", 2, 0, len(table))
        + bytes(128)
    )
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 0x2C, 1, 1, 0, 4096)
    struct.pack_into("<IIII", header, 0x3C, 2, 1, end, 0)
    struct.pack_into("<I", header, 0x4C, 0)
    for i in range(1, 109):
        struct.pack_into("<I", header, 0x4C + 4 * i, free)
    body = struct.pack("<128I", *fat) + directory + struct.pack("<128I", *mini_fat)
    body += mini_stream + b"\x00" * (mini_stream_sectors * sector - len(mini_stream))
    return bytes(header) + body + bytes(word)


def make_xls(rows) -> bytes:
    """A real Excel 97–2003 workbook (xlwt writes the old BIFF format)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("收费标准")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


# --- extraction -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ext", "data", "expected"),
    [
        ("pdf", make_pdf(TEXT), [TEXT]),
        ("docx", make_docx(TEXT), [TEXT, "办理地点\t市政务服务中心二楼"]),
        ("xlsx", make_xlsx([["项目", "收费"], ["工本费", 10]]), ["收费标准", "工本费\t10"]),
        ("xls", make_xls([["项目", "收费"], ["工本费", "10元"]]), ["收费标准", "工本费\t10元"]),
        ("txt", TEXT.encode("utf-8"), [TEXT]),
        ("txt", ("\ufeff" + TEXT).encode("utf-8"), [TEXT]),
        ("txt", TEXT.encode("gb18030"), [TEXT]),
        ("txt", TEXT.encode("utf-16"), [TEXT]),
        ("doc", make_doc("Word 97 ", TEXT), ["Word 97 " + TEXT]),
    ],
    ids=["pdf", "docx", "xlsx", "xls", "utf8", "utf8-bom", "gb18030", "utf16", "doc"],
)
def test_text_is_extracted_from_real_files(ext, data, expected):
    text, reason = content.extract_text(ext, data)
    assert reason == ""
    for piece in expected:
        assert piece in text


def test_files_without_text_say_why():
    jpeg = b"\xff\xd8\xff\xe0" + bytes(64)
    assert content.extract_text("jpg", jpeg) == ("", "图片不提取文字")
    text, reason = content.extract_text("xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    assert text == "" and "无法解析" in reason
    text, reason = content.extract_text("pdf", b"%PDF-1.4 garbage")
    assert text == "" and "无法解析" in reason
    text, reason = content.extract_text("doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    assert text == "" and reason


# --- the service ------------------------------------------------------------------------------------


def test_attachment_text_becomes_searchable(kb, article):
    a = article()
    stamp = a.updated_at
    attachment = services.attachment_add(
        actor=kb.editor, article=a, upload=upload("公积金提取须知.pdf", make_pdf(TEXT))
    )
    assert TEXT in attachment.text and attachment.size > 0
    a = Article.objects.get(pk=a.pk)
    assert "公积金" in a.search_attachments.split() and a.updated_at > stamp
    services.attachment_add(
        actor=kb.editor, article=a, upload=upload("办事指南.docx", make_docx("离岛免税额度"))
    )
    a = Article.objects.get(pk=a.pk)
    assert {"公积金", "免税"} <= set(a.search_attachments.split())
    assert AuditEntry.objects.filter(action="kb.article.attachment_add").count() == 2
    with attachment.file.open("rb") as handle:
        assert handle.read().startswith(b"%PDF-")


def test_attachment_remove_takes_its_text_out_of_search(
    kb, article, django_capture_on_commit_callbacks
):
    a = article()
    attachment = services.attachment_add(
        actor=kb.editor, article=a, upload=upload("须知.txt", TEXT.encode("gb18030"))
    )
    stored = attachment.file.name
    storage = attachment.file.storage
    assert storage.exists(stored)
    with django_capture_on_commit_callbacks(execute=True):
        services.attachment_remove(actor=kb.editor, article=a, attachment=attachment)
    a = Article.objects.get(pk=a.pk)
    assert a.search_attachments == "" and not a.attachments.exists()
    assert not storage.exists(stored)


def test_attachment_checks(kb, article):
    a = article()
    with pytest.raises(Unprocessable, match="类型不允许"):
        services.attachment_add(actor=kb.editor, article=a, upload=upload("x.exe", b"MZ\x90"))
    with pytest.raises(Unprocessable, match="不符"):
        services.attachment_add(actor=kb.editor, article=a, upload=upload("x.pdf", b"hello"))
    with pytest.raises(Unprocessable, match="空文件"):
        services.attachment_add(actor=kb.editor, article=a, upload=upload("x.txt", b""))
    big = upload("big.txt", b"a" * (services.MAX_ATTACHMENT_BYTES + 1))
    with pytest.raises(Unprocessable, match="超过 10 MB"):
        services.attachment_add(actor=kb.editor, article=a, upload=big)
    with pytest.raises(Forbidden):
        services.attachment_add(actor=kb.agent, article=a, upload=upload("a.txt", b"abc"))
    photo = services.attachment_add(
        actor=kb.editor, article=a, upload=upload("现场.jpg", b"\xff\xd8\xff\xe0" + bytes(32))
    )
    assert photo.text == "" and services.attachment_reason(photo) == "图片不提取文字"
    for move in ("submit", "approve"):
        services.article_move(actor=kb.editor, article=Article.objects.get(pk=a.pk), move=move)
    with pytest.raises(Conflict, match="草稿"):
        services.attachment_add(
            actor=kb.editor, article=Article.objects.get(pk=a.pk), upload=upload("b.txt", b"abc")
        )
    assert ArticleAttachment.objects.filter(article=a).count() == 1


def test_unit_editor_cannot_attach_to_another_units_article(kb, article):
    theirs = article(subject=kb.fund)
    from hotline.core.errors import NotFound

    with pytest.raises(NotFound):
        services.attachment_add(actor=kb.rs_editor, article=theirs, upload=upload("a.txt", b"abc"))


PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


def test_images_are_stored_under_our_own_urls(kb):
    url = services.image_store(actor=kb.editor, upload=upload("流程图.png", PNG))
    assert content.IMAGE_URL.match(url)
    from django.core.files.storage import default_storage

    assert default_storage.exists(services.image_path(url))
    assert content.sanitize(f'<p><img src="{url}"></p>') == f'<p><img src="{url}"></p>'
    with pytest.raises(Unprocessable, match="类型不允许"):
        services.image_store(actor=kb.editor, upload=upload("a.gif", b"GIF89a"))
    with pytest.raises(Unprocessable, match="不符"):
        services.image_store(actor=kb.editor, upload=upload("a.png", b"\xff\xd8\xff" + bytes(9)))
    with pytest.raises(Forbidden):
        services.image_store(actor=kb.agent, upload=upload("a.png", PNG))
    assert services.image_path("/kb/images/../../etc/passwd") is None
