"""同义词: the editor-managed synonym groups (医保 医疗保险) and the provider that hands
them to the search (``hotline.search.text.SYNONYM_SOURCES``).

The provider keeps the groups in the process and checks a cheap version — the number of
groups and their latest ``updated_at`` — at most every :data:`CHECK_EVERY` seconds, so a
group saved in another process (the web workers, the worker) is used within that time; a
save in this process forgets the cache at once. New words are also taught to jieba, so
that a query containing them is cut into those words.
"""

import logging
import re
import threading
import time

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from hotline.core import audit
from hotline.core.errors import Unprocessable
from hotline.core.models import User
from hotline.core.services import require
from hotline.search import text

from ..models import SynonymGroup

log = logging.getLogger(__name__)

WORD_MAX = 20
GROUP_MAX = SynonymGroup._meta.get_field("words").max_length
CHECK_EVERY = 2.0  # seconds
# Editors paste lists separated by commas or 、 as often as by spaces.
_SEPARATORS = re.compile(r"[\s,，、;；]+")
_WORDLIKE = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff]")


# --- validation ---------------------------------------------------------------------------


def parse_words(raw: str) -> list[str]:
    """The distinct words of an entry, in the order typed. Raises Unprocessable (中文)."""
    words: list[str] = []
    seen: set[str] = set()
    for word in _SEPARATORS.split(raw or ""):
        if not word:
            continue
        if not _WORDLIKE.search(word):
            raise Unprocessable(f"“{word}”不是有效的词语（须含汉字、字母或数字）", field="words")
        if len(word) > WORD_MAX:
            raise Unprocessable(f"“{word}”超过 {WORD_MAX} 个字", field="words")
        if word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    if len(words) < 2:
        raise Unprocessable("同义词组至少须有两个不同的词语，以空格分隔", field="words")
    joined = " ".join(words)
    if len(joined) > GROUP_MAX:
        raise Unprocessable(f"同义词组总长不能超过 {GROUP_MAX} 个字", field="words")
    return words


def _key(words) -> frozenset[str]:
    return frozenset(w.lower() for w in words)


def _refuse_duplicate(words: list[str], exclude: int | None = None) -> None:
    wanted = _key(words)
    for group in SynonymGroup.objects.exclude(pk=exclude).only("pk", "words"):
        if _key(group.word_list) == wanted:
            raise Unprocessable(f"已有相同的同义词组：{group.words}", field="words")


# --- writes -------------------------------------------------------------------------------


@transaction.atomic
def synonym_group_create(*, actor: User | None, words: str) -> SynonymGroup:
    require(actor, "kb.manage")
    parsed = parse_words(words)
    _refuse_duplicate(parsed)
    group = SynonymGroup.objects.create(words=" ".join(parsed), updated_at=timezone.now())
    audit.record("kb.synonym.create", group, after={"words": group.words}, actor=actor)
    _changed(parsed)
    return group


@transaction.atomic
def synonym_group_update(*, actor: User | None, group: SynonymGroup, words: str) -> SynonymGroup:
    require(actor, "kb.manage")
    parsed = parse_words(words)
    _refuse_duplicate(parsed, exclude=group.pk)
    before = {"words": group.words}
    group.words = " ".join(parsed)
    group.updated_at = timezone.now()
    group.save(update_fields=["words", "updated_at"])
    audit.record(
        "kb.synonym.update", group, before=before, after={"words": group.words}, actor=actor
    )
    _changed(parsed)
    return group


@transaction.atomic
def synonym_group_delete(*, actor: User | None, group: SynonymGroup) -> None:
    require(actor, "kb.manage")
    audit.record("kb.synonym.delete", group, before={"words": group.words}, actor=actor)
    group.delete()
    _changed([])


def _changed(words: list[str]) -> None:
    """Teach jieba the words now (they are harmless if the transaction rolls back) and
    forget the cached groups now and again once committed."""
    tokenizer = text.tokenizer()
    for word in words:
        tokenizer.add_word(word, freq=None)
    forget()
    transaction.on_commit(forget)


# --- the provider ---------------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict = {"version": None, "groups": (), "checked": float("-inf")}


def forget() -> None:
    """Drop this process's copy of the groups (read again on next use)."""
    with _lock:
        _cache.update(version=None, groups=(), checked=float("-inf"))


def _version() -> tuple:
    row = SynonymGroup.objects.aggregate(n=Count("pk"), latest=Max("updated_at"))
    return row["n"], row["latest"]


def provide() -> tuple[tuple[str, ...], ...]:
    """The editor-managed groups, lower-cased like the query words they are compared with
    (registered in ``hotline.search.text.SYNONYM_SOURCES``)."""
    now = time.monotonic()
    if now - _cache["checked"] < CHECK_EVERY:
        return _cache["groups"]
    with _lock:
        if now - _cache["checked"] < CHECK_EVERY:
            return _cache["groups"]
        try:
            version = _version()
            if version != _cache["version"]:
                groups = tuple(
                    tuple(dict.fromkeys(w.lower() for w in words.split()))
                    for words in SynonymGroup.objects.values_list("words", flat=True)
                )
                _teach(groups, _cache["groups"])
                _cache.update(version=version, groups=groups)
        except Exception:  # the search answers without these synonyms rather than fail
            log.warning("synonym groups could not be read", exc_info=True)
        _cache["checked"] = now
        return _cache["groups"]


def _teach(groups, known) -> None:
    """Add the words not seen before to jieba (saved in another process)."""
    old = {w for group in known for w in group}
    tokenizer = text.tokenizer()
    for group in groups:
        for word in group:
            if word not in old:
                tokenizer.add_word(word, freq=None)
