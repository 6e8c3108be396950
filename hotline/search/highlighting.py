"""Marking the words of a query in a text (检索结果高亮)."""

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .text import query_groups


def highlight(text: str, query: str, *, width: int | None = None) -> SafeString:
    """``text`` escaped, with every word of ``query`` (and its synonyms) in ``<mark>``.
    With ``width``, a window of about that many characters around the first match."""
    text = text or ""
    words = sorted({w for group in query_groups(query) for w in group}, key=len, reverse=True)
    if not words:
        return escape(text[:width] if width else text)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    if width and len(text) > width:
        first = pattern.search(text)
        start = max(0, (first.start() if first else 0) - width // 4)
        end = start + width
        text = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[last : match.start()]))
        pieces.append(f"<mark>{escape(match.group())}</mark>")
        last = match.end()
    pieces.append(escape(text[last:]))
    return mark_safe("".join(pieces))
