"""The content of a knowledge article: rich text made safe, and the text of attached files.

- :func:`sanitize` keeps an allow-list of tags (正文富文本) and drops everything else: no
  script, style, event handler or foreign image can reach an agent's screen.
- :func:`html_to_text` is the plain text of a body (for search, diff and export).
- :func:`extract_text` reads the words of an attachment (pdf, docx, xlsx, xls, txt, doc) so that
  they are searchable; files it cannot read get an empty text and a reason to show.
"""

import html
import io
import re
import shutil
import struct
import subprocess
import tempfile
from html.parser import HTMLParser

import nh3

# --- rich text -----------------------------------------------------------------------------

ALLOWED_TAGS = {
    "p", "h3", "h4", "ul", "ol", "li", "strong", "em", "u", "br",
    "table", "thead", "tbody", "tr", "th", "td", "img", "a",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
# Images may only come from our own upload area (see services.articles.image_store).
IMAGE_URL = re.compile(r"^/kb/images/\d{4}/\d{2}/[0-9a-f]{32}\.(?:jpg|png)$")
LINK_URL = re.compile(r"^https?://[^\s\"'<>]+$", re.IGNORECASE)
_SPAN = re.compile(r"^[1-9][0-9]?$")

# Browsers' editing commands write <b>/<i>/<div>; the allow-list speaks <strong>/<em>/<p>.
_RENAMES = [
    (re.compile(r"<(/?)b(?=[\s>/])", re.IGNORECASE), r"<\1strong"),
    (re.compile(r"<(/?)i(?=[\s>/])", re.IGNORECASE), r"<\1em"),
    (re.compile(r"<(/?)div(?=[\s>/])", re.IGNORECASE), r"<\1p"),
]
_IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
_EMPTY_LINK = re.compile(r"<a(?![^>]*\shref=)[^>]*>(.*?)</a>", re.DOTALL)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if IMAGE_URL.match(value) else None
    if tag == "a" and attribute == "href":
        return value if LINK_URL.match(value) else None
    if attribute in ("colspan", "rowspan"):
        return value if _SPAN.match(value) else None
    return value


def sanitize(body: str) -> str:
    """The body with only the allowed tags and attributes (script, style and their
    content removed; event handlers, inline styles, foreign images and non-http(s) links
    dropped)."""
    body = body or ""
    for pattern, replacement in _RENAMES:
        body = pattern.sub(replacement, body)
    cleaned = nh3.clean(
        body,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "template"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    cleaned = _IMG_WITHOUT_SRC.sub("", cleaned)
    return _EMPTY_LINK.sub(r"\1", cleaned).strip()


_BLOCKS = {"p", "h3", "h4", "li", "tr", "table", "ul", "ol", "div", "br", "thead", "tbody"}


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_endtag(self, tag):
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(body: str) -> str:
    """Plain text of a body: one line per paragraph, list item or table row."""
    parser = _TextParser()
    parser.feed(body or "")
    parser.close()
    lines = []
    for line in "".join(parser.parts).split("\n"):
        line = re.sub(r"[ \u3000]+", " ", line.replace("\xa0", " ")).strip(" \t")
        line = re.sub(r"\t+", "\t", line)
        if line:
            lines.append(line)
    return "\n".join(lines)


def text_to_html(text: str) -> str:
    """A plain text (one paragraph a line) as body HTML; used for imported rows."""
    lines = [line.strip() for line in (text or "").splitlines()]
    return "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in lines if line)


def looks_like_html(text: str) -> bool:
    return bool(re.search(r"<\s*(p|h3|h4|ul|ol|li|table|strong|br)\b", text or "", re.I))


# --- files ----------------------------------------------------------------------------------

MAX_TEXT = 200_000  # characters kept from one attachment

NO_TEXT_REASONS = {
    "jpg": "图片不提取文字",
    "jpeg": "图片不提取文字",
}


def decode_text(data: bytes) -> str:
    """A text file's content: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030
    (which covers GBK and GB2312, the usual encodings of Chinese Windows text files)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise ValueError("encrypted")
    return "\n".join((page.extract_text() or "") for page in reader.pages)


def _docx_text(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _xlsx_text(data: bytes) -> str:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    lines = []
    try:
        for sheet in workbook.worksheets:
            lines.append(sheet.title)
            for row in sheet.iter_rows(values_only=True):
                cells = [str(v) for v in row if v not in (None, "")]
                if cells:
                    lines.append("\t".join(cells))
    finally:
        workbook.close()
    return "\n".join(lines)


def _xls_text(data: bytes) -> str:
    """Excel 97–2003 workbooks, read with xlrd (which reads only this old format)."""
    import xlrd

    book = xlrd.open_workbook(file_contents=data, on_demand=True)
    lines = []
    try:
        for sheet in book.sheets():
            lines.append(sheet.name)
            for index in range(sheet.nrows):
                cells = [str(v) for v in sheet.row_values(index) if v not in (None, "")]
                if cells:
                    lines.append("\t".join(cells))
    finally:
        book.release_resources()
    return "\n".join(lines)


def _doc_text(data: bytes) -> str:
    """Word 97–2003: antiword or catdoc when installed, else our own reader of the
    document's piece table (enough for the text of ordinary documents)."""
    for tool, args in (("antiword", ["-w", "0"]), ("catdoc", ["-w", "-d", "utf-8"])):
        path = shutil.which(tool)
        if path is None:
            continue
        with tempfile.NamedTemporaryFile(suffix=".doc") as handle:
            handle.write(data)
            handle.flush()
            try:
                done = subprocess.run(
                    [path, *args, handle.name], capture_output=True, timeout=20, check=True
                )
            except (subprocess.SubprocessError, OSError):
                continue
            text = done.stdout.decode("utf-8", errors="replace").strip()
            if text:
                return text
    return word97_text(data)


EXTRACTORS = {
    "pdf": _pdf_text,
    "docx": _docx_text,
    "xlsx": _xlsx_text,
    "xls": _xls_text,
    "txt": decode_text,
    "doc": _doc_text,
}


def extract_text(ext: str, data: bytes) -> tuple[str, str]:
    """``(text, reason)``: the words of a file of type ``ext``, or ``""`` and a Chinese
    reason why there are none (an image, an unreadable or empty file)."""
    ext = ext.lower()
    extractor = EXTRACTORS.get(ext)
    if extractor is None:
        return "", NO_TEXT_REASONS.get(ext, "此类文件不提取文字")
    try:
        text = extractor(data)
    except Exception:  # a damaged or encrypted file is kept, just not searchable
        return "", "文件无法解析（可能已损坏或加密），未提取到文字"
    text = re.sub(r"[ \t\u3000]*\n[\s\u3000]*", "\n", text.replace("\r", "\n")).strip()
    text = text.replace("\x00", "")[:MAX_TEXT]
    if not text:
        return "", "文件中没有可提取的文字"
    return text, ""


# --- Word 97 binary (.doc) ----------------------------------------------------------------------
#
# A .doc is a Compound File (CFB): sectors chained by a FAT, a directory of streams. The text
# lives in the "WordDocument" stream, in pieces listed by the piece table (Clx) of the
# "0Table"/"1Table" stream; the FIB at the start of WordDocument says which table stream
# and where the Clx is. [MS-CFB] and [MS-DOC] describe both.

_CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END = 0xFFFFFFFE
_FREE = 0xFFFFFFFF


class _Compound:
    def __init__(self, data: bytes):
        if not data.startswith(_CFB_SIGNATURE) or len(data) < 512:
            raise ValueError("not a compound file")
        self.data = data
        self.sector_size = 1 << struct.unpack_from("<H", data, 0x1E)[0]
        self.mini_size = 1 << struct.unpack_from("<H", data, 0x20)[0]
        fat_count, directory_start = struct.unpack_from("<II", data, 0x2C)
        self.cutoff, mini_fat_start, mini_fat_count = struct.unpack_from("<III", data, 0x38)
        difat_start, difat_count = struct.unpack_from("<II", data, 0x44)
        fat_sectors = list(struct.unpack_from("<109I", data, 0x4C))
        per_sector = self.sector_size // 4
        sector, seen = difat_start, 0
        while sector not in (_END, _FREE) and seen < difat_count:
            entries = struct.unpack_from(f"<{per_sector}I", self._sector(sector))
            fat_sectors.extend(entries[:-1])
            sector, seen = entries[-1], seen + 1
        fat_sectors = [s for s in fat_sectors if s not in (_END, _FREE)][:fat_count]
        self.fat: list[int] = []
        for s in fat_sectors:
            self.fat.extend(struct.unpack_from(f"<{per_sector}I", self._sector(s)))
        self.directory = self._entries(self._chain(directory_start))
        root = self.directory[0]
        self.mini_stream = self._chain(root["start"])[: root["size"]]
        self.mini_fat: list[int] = []
        if mini_fat_count:
            raw = self._chain(mini_fat_start)
            self.mini_fat = list(struct.unpack_from(f"<{len(raw) // 4}I", raw))

    def _sector(self, number: int) -> bytes:
        start = (number + 1) * self.sector_size
        if start + self.sector_size > len(self.data):
            raise ValueError("sector out of range")
        return self.data[start : start + self.sector_size]

    def _chain(self, start: int, fat=None, read=None) -> bytes:
        fat = self.fat if fat is None else fat
        read = read or self._sector
        parts, sector, steps = [], start, 0
        while sector not in (_END, _FREE):
            if sector >= len(fat) or steps > len(fat):
                raise ValueError("broken sector chain")
            parts.append(read(sector))
            sector, steps = fat[sector], steps + 1
        return b"".join(parts)

    def _mini_sector(self, number: int) -> bytes:
        start = number * self.mini_size
        return self.mini_stream[start : start + self.mini_size]

    @staticmethod
    def _entries(raw: bytes) -> list[dict]:
        entries = []
        for offset in range(0, len(raw) - 127, 128):
            length = struct.unpack_from("<H", raw, offset + 64)[0]
            name = raw[offset : offset + max(0, length - 2)].decode("utf-16-le", "replace")
            kind = raw[offset + 66]
            start, size = struct.unpack_from("<II", raw, offset + 116)
            entries.append({"name": name, "type": kind, "start": start, "size": size})
        return entries

    def stream(self, name: str) -> bytes:
        for entry in self.directory:
            if entry["type"] == 2 and entry["name"] == name:
                if entry["size"] < self.cutoff:
                    raw = self._chain(entry["start"], self.mini_fat, self._mini_sector)
                else:
                    raw = self._chain(entry["start"])
                return raw[: entry["size"]]
        raise KeyError(name)


def word97_text(data: bytes) -> str:
    """The main text of a Word 97–2003 document, from its piece table."""
    compound = _Compound(data)
    word = compound.stream("WordDocument")
    ident = struct.unpack_from("<H", word, 0)[0]
    flags = struct.unpack_from("<H", word, 0x0A)[0]  # fEncrypted 0x0100, fWhichTblStm 0x0200
    if ident != 0xA5EC:
        raise ValueError("not a Word document")
    if flags & 0x0100:
        raise ValueError("encrypted")
    table = compound.stream("1Table" if flags & 0x0200 else "0Table")
    text_length = struct.unpack_from("<i", word, 0x4C)[0]  # ccpText: the main document
    fc_clx, lcb_clx = struct.unpack_from("<II", word, 0x1A2)
    clx = table[fc_clx : fc_clx + lcb_clx]
    position = 0
    while position < len(clx) and clx[position] == 0x01:  # Prc: formatting, skipped
        position += 3 + struct.unpack_from("<h", clx, position + 1)[0]
    if position >= len(clx) or clx[position] != 0x02:
        raise ValueError("no piece table")
    size = struct.unpack_from("<I", clx, position + 1)[0]
    plc = clx[position + 5 : position + 5 + size]
    count = (size - 4) // 12
    cps = struct.unpack_from(f"<{count + 1}I", plc, 0)
    pieces = []
    for index in range(count):
        start, end = cps[index], min(cps[index + 1], text_length)
        if start >= end:
            continue
        fc = struct.unpack_from("<I", plc, 4 * (count + 1) + 8 * index + 2)[0]
        if fc & 0x40000000:  # compressed: one byte a character (cp1252)
            offset = (fc & ~0x40000000) // 2
            pieces.append(word[offset : offset + end - start].decode("cp1252", "replace"))
        else:
            pieces.append(word[fc : fc + 2 * (end - start)].decode("utf-16-le", "replace"))
    text = "".join(pieces)
    text = re.sub(r"\x13[^\x14\x15]*\x14?", "", text).replace("\x15", "")  # field codes
    text = text.replace("\x07", "\t").replace("\r", "\n").replace("\x0b", "\n")
    return re.sub(r"[\x00-\x08\x0c\x0e-\x1f]", "", text)
