"""Chinese text for search: jieba segmentation with a government-term dictionary,
stop words and synonym groups (医保 = 医疗保险).

Documents are indexed with ``cut_for_search`` (each long word and the dictionary words
inside it: 住房公积金 → 住房 公积 公积金 住房公积金), queries are cut precisely (公积金
怎么 提取 → 公积金 提取), so a query word finds the longer words that contain it.
"""

import logging
import re
import threading
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import jieba

DATA = Path(__file__).parent / "data"
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None

# A word is kept if it has a letter, digit or CJK character; punctuation is not a word.
_WORDLIKE = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff]")

# Other apps (the knowledge base's editor-managed synonyms) add sources of groups here.
SYNONYM_SOURCES: list[Callable[[], Iterable[Iterable[str]]]] = []


def tokenizer() -> jieba.Tokenizer:
    """The process's one jieba tokenizer, loaded on first use (about 0.8 s)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                loaded = jieba.Tokenizer()
                loaded.initialize()
                loaded.load_userdict(str(DATA / "dict.txt"))
                for group in _file_synonyms():
                    for word in group:
                        loaded.add_word(word, freq=None)
                _tokenizer = loaded
    return _tokenizer


@cache
def stopwords() -> frozenset[str]:
    return frozenset((DATA / "stopwords.txt").read_text(encoding="utf-8").split())


@cache
def _file_synonyms() -> tuple[tuple[str, ...], ...]:
    groups = []
    for line in (DATA / "synonyms.txt").read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) > 1:
            groups.append(tuple(words))
    return tuple(groups)


def synonyms_of(word: str) -> list[str]:
    """The word and every word of a synonym group it belongs to, the word first."""
    found = [word]
    for source in (_file_synonyms, *SYNONYM_SOURCES):
        for group in source():
            group = list(group)
            if word in group:
                found.extend(w for w in group if w not in found)
    return found


def _words(pieces: Iterable[str]) -> list[str]:
    return [p.strip().lower() for p in pieces if _WORDLIKE.search(p)]


def index_text(*parts: str | None) -> str:
    """The words of a document as one space-separated string, ready for the index."""
    cut = tokenizer().cut_for_search
    words: list[str] = []
    for part in parts:
        if part:
            words.extend(_words(cut(part)))
    return " ".join(words)


def query_words(query: str) -> list[str]:
    """The meaningful words of a search box entry, in order, without repeats."""
    words = [w for w in _words(tokenizer().cut(query)) if w not in stopwords()]
    return list(dict.fromkeys(words))


def query_groups(query: str) -> list[list[str]]:
    """Each query word with its synonyms: the index matches any word of a group."""
    for source in SYNONYM_SOURCES:  # read before the cut: a source may teach jieba new words
        source()
    return [synonyms_of(word) for word in query_words(query)]
