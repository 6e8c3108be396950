"""知识检索引擎: an in-memory tantivy index of the knowledge base, one per web process.

Why not the database (docs/decisions.md, DESIGN.md's measurements): at 100,000 articles
SQLite FTS5 needs ~170 ms and PostgreSQL tsvector 350–500 ms to *rank* a natural
question, far above the 50 ms target; tantivy's BM25 over the same words takes ~2 ms.

- **What is indexed**: the articles' stored ``search_*`` columns (jieba words separated by
  spaces; tantivy's default tokenizer splits on the spaces and keeps a CJK run whole)
  plus fast fields for filtering and sorting (platform, state, subject, form, expiry,
  clicks, rating, hotness, modification time). Archived articles are left out.
- **Built lazily** on the first search of the process (the time is logged).
- **Kept in step by a watermark**, no daemon: before each search one cheap query reads
  ``max(updated_at)`` and ``max(stats_at)`` (both indexed). When the content mark moved,
  the changed rows are re-read and re-indexed (delete by id + add, commit, reload), so
  every process sees a published change on its next search. Rows re-read overlap the
  last ``OVERLAP`` seconds, and for that long after a change the window is re-read at
  most once a second, so a transaction that commits after a later one is not missed.
  Usage statistics (clicks, ratings) follow ``stats_at`` at most every
  ``HOTLINE_KB_STATS_SECONDS`` (default 10 s): sorting by clicks may lag that long,
  content never does. Hotness slides with the calendar, so it is recomputed once a day.
- **Thread-safe**: one lock around building and updating; searches use the current
  searcher without the lock.

The engine knows nothing of users: callers pass an :class:`Audience` (which platforms
and states one may find), built by ``selectors.search``.
"""

import bisect
import datetime as dt
import gc
import heapq
import logging
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import tantivy
from django.conf import settings
from django.db import connection
from django.utils import timezone

from hotline.search import query_groups, query_words
from hotline.search.text import tokenizer

from .lifecycle import ArticleState
from .models import Article, ArticleAttachment, ArticleClickDay

log = logging.getLogger(__name__)

# Field choices of the search form: (index field, boost). Title and keywords weigh double.
# Measured on the 348 labelled citizen questions (scripts/bench_kb.py), each word scored by
# its best field (FIELD_TIE_BREAKER): title 2 / keywords 2 puts the answer in the top 3 for
# 92.5% of them, title 3 / keywords 2 for 89%; editors' keywords carry citizens' words.
FIELDS: dict[str, tuple[str, float]] = {
    "title": ("title", 2.0),
    "keywords": ("keywords", 2.0),
    "content": ("body", 1.0),
    "attachments": ("attachments", 1.0),
}
MODES = ("fuzzy", "exact")
# sort code → fast field (None: BM25 relevance)
SORTS: dict[str, str | None] = {
    "relevance": None,
    "clicks": "clicks",
    "modified": "updated",
    "rating": "rating",
    "hot": "hot",
}
HOT_DAYS, HOT_RECENT_DAYS = 30, 7  # hotness = clicks of 30 days + clicks of the last 7 again

FREEZE_FROM = 10_000  # articles: from here on a built index is kept out of the GC
OVERLAP = dt.timedelta(seconds=10)  # re-read window behind the content watermark
RECHECK_SECONDS = 1.0  # how often that window is re-read while it is open
FIELD_TIE_BREAKER = 0.3  # a word's other fields add 30 % of their score to its best one
SINGLE_CHAR_WEIGHT = 0.5  # query words of one character (measured with FIELDS)
SUBWORD_WEIGHT = 0.5  # dictionary words inside a longer query word
EXACT_CANDIDATES = 500  # exact phrases are checked among this many word matches
SUGGEST_SCAN = 1500  # prefix entries looked at per suggestion request

_STATE_CODES = {
    ArticleState.DRAFT: 0,
    ArticleState.PENDING: 1,
    ArticleState.PUBLISHED: 2,
}
_NEVER = dt.date(9999, 12, 31).toordinal()
_TOKEN = re.compile(r"[^\W_]+")  # what tantivy's default tokenizer keeps
_NOT_ALNUM = re.compile(r"[^0-9a-z]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

_ROW_FIELDS = (
    "pk",
    "platform_id",
    "state",
    "subject_id",
    "form_id",
    "expires_on",
    "title",
    "keywords",
    "clicks",
    "rating_sum",
    "rating_count",
    "updated_at",
    "stats_at",
)
_STATE, _UPDATED = _ROW_FIELDS.index("state"), _ROW_FIELDS.index("updated_at")
_TEXT_FIELDS = ("search_title", "search_keywords", "search_body", "search_attachments")


def stats_seconds() -> float:
    return float(getattr(settings, "HOTLINE_KB_STATS_SECONDS", 10))


# --- who searches --------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Which articles a searcher may find: published, unexpired ones on ``platform_ids``
    (what agents see); an editor asking for drafts also finds draft, pending and expired
    articles on ``editor_platform_ids`` or under ``editor_subject_ids`` (a unit's nodes)."""

    platform_ids: frozenset[int]
    editor_platform_ids: frozenset[int] = frozenset()
    editor_subject_ids: frozenset[int] = frozenset()
    today: dt.date = field(default_factory=timezone.localdate)

    @property
    def drafts(self) -> bool:
        return bool(self.editor_platform_ids or self.editor_subject_ids)


@dataclass(slots=True)
class Meta:
    """What the process remembers of each indexed article (filters, facets, suggestions)."""

    platform_id: int
    state: str
    subject_id: int
    form_id: int
    expires: int  # date ordinal; _NEVER when no expiry
    title: str
    keywords: tuple[str, ...]
    updated_at: dt.datetime
    stats_at: dt.datetime | None
    clicks: int
    rating: float
    hot: int

    def visible_to(self, audience: Audience) -> bool:
        if (
            self.state == ArticleState.PUBLISHED
            and self.platform_id in audience.platform_ids
            and self.expires >= audience.today.toordinal()
        ):
            return True
        return self.state in _STATE_CODES and (
            self.platform_id in audience.editor_platform_ids
            or self.subject_id in audience.editor_subject_ids
        )


# --- queries --------------------------------------------------------------------------------


@dataclass
class Query:
    """One search, already validated (selectors.search checks the user's input)."""

    q: str = ""
    mode: str = "fuzzy"
    fields: tuple[str, ...] = tuple(FIELDS)
    subject_ids: frozenset[int] | None = None  # a subject node and its subtree
    form_id: int | None = None
    sort: str = "relevance"
    within: tuple[str, ...] = ()  # earlier queries the results must also match
    limit: int = 10
    offset: int = 0


@dataclass
class Hit:
    id: int
    score: float


@dataclass
class Result:
    total: int
    hits: list[Hit]
    subject_counts: dict[int, int]  # leaf subject id → count (ignoring the subject scope)
    form_counts: dict[int, int]  # form id → count (ignoring the form scope)
    top_ids: list[int]  # the best matches by relevance (for related keywords)
    fallback: bool = False  # nothing matched the words: titles containing the text instead
    truncated: bool = False  # exact mode checked only the first EXACT_CANDIDATES matches


def _expansions(group: list[str]) -> list[tuple[str, float]]:
    """Shorter dictionary words inside a long query word (月工资 → 工资), weighing less.
    Only the word typed is opened up, not its synonyms (社会保险 would bring in 保险)."""
    word = group[0]
    if len(word) < 3:
        return []
    seen = set(group)
    found = []
    for part in tokenizer().cut_for_search(word):
        part = part.strip().lower()
        if len(part) >= 2 and part not in seen:
            seen.add(part)
            found.append((part, SUBWORD_WEIGHT))
    return found


def _tokens(word: str) -> list[str]:
    return _TOKEN.findall(word.lower())


def _phrases(q: str) -> list[str]:
    """The exact strings of an exact-mode query: each whitespace-separated part, as typed."""
    return q.split()


# --- suggestions ------------------------------------------------------------------------------

_pinyin_cache: dict[str, tuple[str, str]] = {}


def _word_pinyin(word: str) -> tuple[str, str]:
    """(full pinyin, initials) of one word, cached for the life of the process."""
    cached = _pinyin_cache.get(word)
    if cached is None:
        if not _CJK.search(word):
            plain = _NOT_ALNUM.sub("", word.lower())
            cached = (plain, plain)
        else:
            from pypinyin import lazy_pinyin

            full, initials = [], []
            for syllable in lazy_pinyin(word):
                syllable = _NOT_ALNUM.sub("", syllable.lower())
                if syllable:
                    full.append(syllable)
                    initials.append(syllable if syllable.isdigit() else syllable[0])
            cached = ("".join(full), "".join(initials))
        _pinyin_cache[word] = cached
    return cached


def pinyin_of(text: str, words: str = "") -> tuple[str, str]:
    """(full pinyin, initials) of a title or keyword. ``words`` are its jieba words (the
    stored ``search_title``): each run of the text is read as the longest such word that
    starts there, so heteronyms are read in context (银行 yinhang) without segmenting
    again; characters outside any word are read one by one."""
    low = text.lower()
    longest: dict[int, str] = {}
    for word in words.split():
        at = low.find(word)
        if at >= 0 and len(word) > len(longest.get(at, "")):
            longest[at] = word
    full, initials, i = [], [], 0
    while i < len(low):
        word = longest.get(i) or low[i]
        f, s = _word_pinyin(word)
        full.append(f)
        initials.append(s)
        i += len(word)
    return "".join(full), "".join(initials)


@dataclass(slots=True)
class _Entry:
    text: str
    kind: str  # "keyword" | "title"
    article_id: int | None  # titles: the article
    article_ids: set[int] | None  # keywords: the articles carrying it


class Suggestions:
    """Titles and keywords by prefix of their text, full pinyin or pinyin initials.

    One sorted list of (key, entry) — bisect finds a prefix's range. Entries are never
    removed: a stale title (the article was renamed, unpublished, expired) is skipped
    when read, a keyword with no visible article likewise."""

    def __init__(self):
        self.keys: list[tuple[str, int]] = []
        self.entries: list[_Entry] = []
        self.keyword_entry: dict[str, int] = {}
        self.title_entry: dict[tuple[int, str], int] = {}

    def _add_keys(self, index: int, text: str, words: str, sort: bool) -> None:
        full, initials = pinyin_of(text, words)
        for key in {k for k in (text.lower(), full, initials) if k}:
            if sort:
                bisect.insort(self.keys, (key, index))
            else:
                self.keys.append((key, index))

    def add_article(self, pk: int, meta: Meta, title_words: str, *, sort: bool = True) -> None:
        if (pk, meta.title) not in self.title_entry:
            self.entries.append(_Entry(meta.title, "title", pk, None))
            self.title_entry[(pk, meta.title)] = len(self.entries) - 1
            self._add_keys(len(self.entries) - 1, meta.title, title_words, sort)
        for keyword in meta.keywords:
            index = self.keyword_entry.get(keyword)
            if index is None:
                self.entries.append(_Entry(keyword, "keyword", None, set()))
                index = self.keyword_entry[keyword] = len(self.entries) - 1
                self._add_keys(index, keyword, keyword, sort)
            self.entries[index].article_ids.add(pk)

    def remove_article(self, pk: int, meta: Meta) -> None:
        for keyword in meta.keywords:
            index = self.keyword_entry.get(keyword)
            if index is not None:
                self.entries[index].article_ids.discard(pk)

    def finish(self) -> None:
        self.keys.sort()

    def lookup(self, prefix: str, metas: dict[int, Meta], audience: Audience, limit: int):
        prefix = prefix.strip().lower()
        if not prefix or (prefix.isascii() and len(prefix) < 2):
            return []  # one letter says nothing yet
        start = bisect.bisect_left(self.keys, (prefix,))
        seen: set[int] = set()
        keywords, titles = [], []
        for key, index in self.keys[start : start + SUGGEST_SCAN]:
            if not key.startswith(prefix):
                break
            if index in seen:
                continue
            seen.add(index)
            entry = self.entries[index]
            if entry.kind == "title":
                meta = metas.get(entry.article_id)
                if meta and meta.title == entry.text and _agent_visible(meta, audience):
                    titles.append((meta.clicks, entry))
            elif any(_agent_visible(metas.get(pk), audience) for pk in entry.article_ids):
                keywords.append((len(entry.article_ids), entry))
        best_keywords = heapq.nlargest(limit, keywords, key=lambda pair: pair[0])
        best_titles = heapq.nlargest(limit, titles, key=lambda pair: pair[0])
        # Keywords first (what people type), then titles (where they lead), up to limit.
        take_keywords = min(len(best_keywords), max(limit // 2, limit - len(best_titles)))
        chosen = [e for _, e in best_keywords[:take_keywords]]
        chosen += [e for _, e in best_titles[: limit - len(chosen)]]
        return [{"text": e.text, "type": e.kind, "id": e.article_id} for e in chosen]


def _agent_visible(meta: Meta | None, audience: Audience) -> bool:
    """Suggestions show only what agents may find, even to editors."""
    return (
        meta is not None
        and meta.state == ArticleState.PUBLISHED
        and meta.platform_id in audience.platform_ids
        and meta.expires >= audience.today.toordinal()
    )


# --- the index ------------------------------------------------------------------------------


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    for name, _ in FIELDS.values():
        builder.add_text_field(name, tokenizer_name="default", index_option="freq")
    builder.add_unsigned_field("platform", indexed=True, fast=True)
    builder.add_unsigned_field("state", indexed=True, fast=True)
    builder.add_unsigned_field("subject", indexed=True, fast=True)
    builder.add_unsigned_field("form", indexed=True, fast=True)
    builder.add_integer_field("expires", indexed=True, fast=True)
    builder.add_unsigned_field("clicks", fast=True)
    builder.add_float_field("rating", fast=True)
    builder.add_integer_field("updated", fast=True)
    builder.add_unsigned_field("hot", fast=True)
    return builder.build()


def _raw_rows(queryset):
    """The rows of a ``values_list`` queryset without Django's per-value converters: the
    build reads every article, and converting two datetimes and a date per row through
    the ORM cost seconds at 100,000. ``_moment`` and ``_meta`` parse them instead."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(2000):
            yield from rows


def _moment(value) -> dt.datetime | None:
    """A stored timestamp as the ORM gives it (aware, UTC): raw SQLite rows hold naive UTC
    datetimes (or text), PostgreSQL's aware ones already."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _split_keywords(value: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in value.replace("，", ",").split(",") if k.strip())


class _State:
    """One built index with its bookkeeping; replaced whole on rebuild."""

    def __init__(self):
        self.schema = _schema()
        self.index = tantivy.Index(self.schema)
        self.writer = None
        self.searcher = None
        self.metas: dict[int, Meta] = {}
        self.platforms: frozenset[int] = frozenset()  # platforms with indexed articles
        self.suggestions = Suggestions()
        self.raw_marks: tuple = (None, None)
        self.content_mark: dt.datetime | None = None
        self.stats_mark: dt.datetime | None = None
        self.checked_at = 0.0  # monotonic time of the last overlap re-read
        self.stats_synced_at = 0.0
        self.hot_day: dt.date | None = None


class Engine:
    """The index of one process (``ENGINE``). ``platform_ids`` limits it to those platforms'
    articles (the benchmark measures relevance on the written articles alone with one)."""

    def __init__(self, platform_ids: frozenset[int] | None = None):
        self._lock = threading.Lock()
        self._state: _State | None = None
        self.build_seconds: float | None = None
        self.platform_ids = platform_ids

    def _articles(self):
        rows = Article.objects.order_by()
        if self.platform_ids is not None:
            rows = rows.filter(platform_id__in=self.platform_ids)
        return rows

    # -- lifecycle --

    def reset(self) -> None:
        """Forget the index (tests; a database replaced under a running process)."""
        with self._lock:
            self._state = None

    def _marks(self) -> tuple:
        table = Article._meta.db_table
        with connection.cursor() as cursor:
            # Two sub-selects, not MAX(a), MAX(b): SQLite answers a lone MAX from its index.
            cursor.execute(
                f"SELECT (SELECT MAX(updated_at) FROM {table}), (SELECT MAX(stats_at) FROM {table})"
            )
            return tuple(cursor.fetchone())

    def current(self) -> _State:
        """The index, brought up to date with the database (the per-search check)."""
        marks = self._marks()
        state = self._state
        if state is None:
            with self._lock:
                if self._state is None:
                    self._build(marks)
                return self._state
        now = time.monotonic()
        content_moved = marks[0] != state.raw_marks[0]
        window_open = (
            state.content_mark is not None
            and timezone.now() - state.content_mark < OVERLAP
            and now - state.checked_at >= RECHECK_SECONDS
        )
        stats_moved = (
            marks[1] != state.raw_marks[1] and now - state.stats_synced_at >= stats_seconds()
        )
        hot_stale = state.hot_day != timezone.localdate()
        if content_moved or window_open or stats_moved or hot_stale:
            with self._lock:
                if self._state is not state:  # rebuilt meanwhile
                    return self._state
                self._sync(state, marks, stats=stats_moved or hot_stale)
        return state

    def _build(self, marks: tuple) -> None:
        began = time.perf_counter()
        state = _State()
        today = timezone.localdate()
        hot = self._hotness(today)
        writer = state.index.writer(heap_size=128_000_000, num_threads=2)
        title_words: dict[int, str] = {}
        rows = (
            self._articles()
            .exclude(state=ArticleState.ARCHIVED)
            .values_list(*_ROW_FIELDS, *_TEXT_FIELDS)
        )
        for row in _raw_rows(rows):
            meta = self._meta(row, hot.get(row[0], 0))
            state.metas[row[0]] = meta
            writer.add_document(self._document(row[0], meta, row[len(_ROW_FIELDS) :]))
            title_words[row[0]] = row[len(_ROW_FIELDS)]
        writer.commit()
        writer.wait_merging_threads()
        for pk, meta in state.metas.items():
            if meta.state == ArticleState.PUBLISHED:
                state.suggestions.add_article(pk, meta, title_words[pk], sort=False)
        state.suggestions.finish()
        state.platforms = frozenset(m.platform_id for m in state.metas.values())
        state.index.reload()
        state.searcher = state.index.searcher()
        state.writer = state.index.writer(heap_size=15_000_000, num_threads=1)
        state.raw_marks = marks
        state.content_mark = max((m.updated_at for m in state.metas.values()), default=None)
        state.stats_mark = max(
            (m.stats_at for m in state.metas.values() if m.stats_at), default=None
        )
        state.checked_at = state.stats_synced_at = time.monotonic()
        state.hot_day = today
        self._state = state
        if len(state.metas) >= FREEZE_FROM:
            # Half a million long-lived objects (metas, suggestion entries) made every full
            # garbage collection take ~0.5 s, stalling a search now and then: collect once
            # and move everything that exists now out of the collector's sight.
            gc.collect()
            gc.freeze()
        self.build_seconds = time.perf_counter() - began
        log.info(
            "知识检索索引已建立：%d 条知识，用时 %.2f 秒", len(state.metas), self.build_seconds
        )

    def _meta(self, row, hot: int) -> Meta:
        (
            _pk,
            platform_id,
            state,
            subject_id,
            form_id,
            expires_on,
            title,
            keywords,
            clicks,
            rating_sum,
            rating_count,
            updated_at,
            stats_at,
        ) = row[: len(_ROW_FIELDS)]
        if isinstance(expires_on, str):  # a raw row (see _raw_rows)
            expires_on = dt.date.fromisoformat(expires_on)
        return Meta(
            platform_id=platform_id,
            state=state,
            subject_id=subject_id,
            form_id=form_id or 0,
            expires=expires_on.toordinal() if expires_on else _NEVER,
            title=title,
            keywords=_split_keywords(keywords),
            updated_at=_moment(updated_at),
            stats_at=_moment(stats_at),
            clicks=clicks,
            rating=round(rating_sum / rating_count, 2) if rating_count else 0.0,
            hot=hot,
        )

    def _document(self, pk: int, meta: Meta, texts) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_unsigned("id", pk)
        for (name, _), text in zip(FIELDS.values(), texts, strict=True):
            if text:
                doc.add_text(name, text)
        doc.add_unsigned("platform", meta.platform_id)
        doc.add_unsigned("state", _STATE_CODES[meta.state])
        doc.add_unsigned("subject", meta.subject_id)
        doc.add_unsigned("form", meta.form_id)
        doc.add_integer("expires", meta.expires)
        doc.add_unsigned("clicks", meta.clicks)
        doc.add_float("rating", meta.rating)
        doc.add_integer("updated", int(meta.updated_at.timestamp() * 1_000_000))
        doc.add_unsigned("hot", meta.hot)
        return doc

    @staticmethod
    def _hotness(today: dt.date, ids=None) -> dict[int, int]:
        """热度 per article: clicks of the last 30 days, plus those of the last 7 again."""
        rows = ArticleClickDay.objects.filter(day__gt=today - dt.timedelta(days=HOT_DAYS))
        if ids is not None:
            rows = rows.filter(article_id__in=ids)
        recent = today - dt.timedelta(days=HOT_RECENT_DAYS)
        hot: dict[int, int] = defaultdict(int)
        for pk, day, clicks in rows.values_list("article_id", "day", "clicks").iterator():
            hot[pk] += clicks * (2 if day > recent else 1)
        return hot

    def _sync(self, state: _State, marks: tuple, *, stats: bool) -> None:
        """Re-index what changed since the watermarks (called under the lock)."""
        began = time.perf_counter()
        today = timezone.localdate()
        changed: set[int] = set()
        content_rows = []
        if state.content_mark is not None:
            content_rows = list(
                self._articles()
                .filter(updated_at__gte=state.content_mark - OVERLAP)
                .values_list(*_ROW_FIELDS)
            )
        elif marks[0] is not None:  # the index was built empty
            content_rows = list(self._articles().values_list(*_ROW_FIELDS))
        for row in content_rows:
            pk, row_state, updated_at = row[0], row[_STATE], row[_UPDATED]
            meta = state.metas.get(pk)
            if meta is None:
                if row_state != ArticleState.ARCHIVED:
                    changed.add(pk)  # new, or back from the archive
            elif meta.updated_at != updated_at or meta.state != row_state:
                changed.add(pk)
            if state.content_mark is None or updated_at > state.content_mark:
                state.content_mark = updated_at
        hot_ids: set[int] = set()
        if stats:
            if marks[1] != state.raw_marks[1]:
                since = state.stats_mark - OVERLAP if state.stats_mark else None
                rows = self._articles().exclude(stats_at=None)
                if since is not None:
                    rows = rows.filter(stats_at__gte=since)
                for pk, stats_at in rows.values_list("pk", "stats_at"):
                    meta = state.metas.get(pk)
                    if meta is not None and meta.stats_at != stats_at:
                        changed.add(pk)
                        hot_ids.add(pk)
                    if state.stats_mark is None or stats_at > state.stats_mark:
                        state.stats_mark = stats_at
                state.raw_marks = (state.raw_marks[0], marks[1])
            if state.hot_day != today:  # the 30-day window moved: every hot article
                hot_ids |= {pk for pk, m in state.metas.items() if m.hot}
                hot_ids |= set(
                    ArticleClickDay.objects.filter(day__gt=today - dt.timedelta(days=HOT_DAYS))
                    .values_list("article_id", flat=True)
                    .distinct()
                )
                state.hot_day = today
            state.stats_synced_at = time.monotonic()
        hot = self._hotness(today, hot_ids) if hot_ids else {}
        hot_changed = {
            pk for pk in hot_ids if pk in state.metas and state.metas[pk].hot != hot.get(pk, 0)
        }
        changed |= hot_changed
        if changed:
            self._reindex(state, changed, hot, hot_ids)
        state.raw_marks = (marks[0], state.raw_marks[1])
        state.checked_at = time.monotonic()
        if changed:
            log.debug(
                "知识检索索引更新 %d 条，用时 %.1f ms",
                len(changed),
                (time.perf_counter() - began) * 1000,
            )

    def _reindex(self, state: _State, ids: set[int], hot: dict[int, int], hot_ids: set[int]):
        rows = {
            row[0]: row
            for row in self._articles().filter(pk__in=ids).values_list(*_ROW_FIELDS, *_TEXT_FIELDS)
        }
        writer = state.writer
        writer.delete_documents_by_query(
            tantivy.Query.term_set_query(state.schema, "id", sorted(ids))
        )
        for pk in ids:
            old = state.metas.pop(pk, None)
            if old is not None:
                state.suggestions.remove_article(pk, old)
            row = rows.get(pk)
            if row is None or row[_STATE] == ArticleState.ARCHIVED:
                continue  # deleted or archived: gone from search
            hot_value = hot.get(pk, 0) if pk in hot_ids else (old.hot if old else 0)
            meta = self._meta(row, hot_value)
            state.metas[pk] = meta
            state.platforms |= {meta.platform_id}
            writer.add_document(self._document(pk, meta, row[len(_ROW_FIELDS) :]))
            if meta.state == ArticleState.PUBLISHED:
                state.suggestions.add_article(pk, meta, row[len(_ROW_FIELDS)])
        writer.commit()
        state.index.reload()
        state.searcher = state.index.searcher()

    def forget(self, ids) -> None:
        """Drop articles that are gone from the database (seen missing by a reader)."""
        with self._lock:
            state = self._state
            if state is None:
                return
            ids = {pk for pk in ids if pk in state.metas}
            if ids:
                self._reindex(state, ids, {}, set())

    # -- searching --

    def _visibility(self, state: _State, audience: Audience) -> list:
        """Clauses keeping what the audience may find. For agents they exclude (MustNot)
        the few drafts, expired articles and other platforms' articles rather than require
        the many visible ones: excluding a short list costs far less than intersecting
        with nearly every document. Editors' draft searches combine two sets instead."""
        Q, Occur, schema = tantivy.Query, tantivy.Occur, state.schema
        hidden_states = [_STATE_CODES[ArticleState.DRAFT], _STATE_CODES[ArticleState.PENDING]]
        expired = Q.range_query(
            schema,
            "expires",
            tantivy.FieldType.Integer,
            None,
            audience.today.toordinal() - 1,
            use_inverted_index=True,
        )
        if not audience.drafts:
            if not audience.platform_ids:
                return [(Occur.Must, Q.empty_query())]
            clauses = [
                (Occur.MustNot, Q.term_set_query(schema, "state", hidden_states)),
                (Occur.MustNot, expired),
            ]
            others = state.platforms - audience.platform_ids
            if others:
                clauses.append(
                    (Occur.MustNot, Q.term_set_query(schema, "platform", sorted(others)))
                )
            return clauses
        parts = []
        if audience.platform_ids:
            parts.append(
                Q.boolean_query(
                    [
                        (
                            Occur.Must,
                            Q.term_set_query(schema, "platform", sorted(audience.platform_ids)),
                        ),
                        (Occur.MustNot, Q.term_set_query(schema, "state", hidden_states)),
                        (Occur.MustNot, expired),
                    ]
                )
            )
        for name, ids in (
            ("platform", audience.editor_platform_ids),
            ("subject", audience.editor_subject_ids),
        ):
            if ids:
                parts.append(Q.term_set_query(schema, name, sorted(ids)))
        either = Q.boolean_query([(Occur.Should, p) for p in parts])
        return [(Occur.Must, Q.const_score_query(either, 0.0))]

    def _text_query(self, state: _State, q: str, mode: str, fields) -> tantivy.Query | None:
        """Fuzzy: any word or synonym, BM25-ranked with field boosts. Exact: every word."""
        Q, Occur, schema = tantivy.Query, tantivy.Occur, state.schema
        targets = [FIELDS[f] for f in fields]

        def any_field(tokens: list[str], weight: float = 1.0) -> list:
            """Each word once, by its best field (plus a little of the others): a word in
            both title and keywords must not count twice as much as another word."""
            return [
                (
                    Occur.Should,
                    Q.disjunction_max_query(
                        [
                            Q.boost_query(Q.term_query(schema, name, token), boost * weight)
                            for name, boost in targets
                        ],
                        FIELD_TIE_BREAKER,
                    ),
                )
                for token in tokens
            ]

        if mode == "exact":
            musts = [
                (Occur.Must, Q.boolean_query(any_field(tokens)))
                for tokens in map(_tokens, query_words(q))
                if tokens
            ]
            return Q.boolean_query(musts) if musts else None
        clauses = []
        for group in query_groups(q):
            # A lone character (丢, 补, 办) says little and a rare one would outweigh the
            # real words; words found inside a long query word say less than it does.
            weight = SINGLE_CHAR_WEIGHT if len(group) == 1 and len(group[0]) == 1 else 1.0
            for word in group:
                clauses.extend(any_field(_tokens(word), weight))
            for part, part_weight in _expansions(group):
                clauses.extend(any_field(_tokens(part), part_weight))
        return Q.boolean_query(clauses) if clauses else None

    def search(self, query: Query, audience: Audience) -> Result:
        state = self.current()
        Q, Occur, schema = tantivy.Query, tantivy.Occur, state.schema
        searcher = state.searcher
        base = self._visibility(state, audience)
        has_words = False
        for earlier in query.within:
            text = self._text_query(state, earlier, query.mode, query.fields)
            if text is not None:
                base.append((Occur.Must, text))
                has_words = True
        text = self._text_query(state, query.q, query.mode, query.fields) if query.q else None
        if text is not None:
            base.append((Occur.Must, text))
            has_words = True
        elif query.q.strip():
            # only stop words or punctuation: let the title fallback try the text itself
            base.append((Occur.Must, Q.empty_query()))
        elif not has_words:
            base.append((Occur.Must, Q.all_query()))  # browsing a category
        scope = {}
        if query.subject_ids is not None:
            subjects = Q.term_set_query(schema, "subject", sorted(query.subject_ids))
            scope["subject"] = (Occur.Must, Q.const_score_query(subjects, 0.0))
        if query.form_id is not None:
            form = Q.term_query(schema, "form", query.form_id)
            scope["form"] = (Occur.Must, Q.const_score_query(form, 0.0))
        full = Q.boolean_query(base + list(scope.values()))
        order_field = SORTS[query.sort] if has_words or query.sort != "relevance" else "updated"

        phrases = _phrases(query.q) if query.mode == "exact" else []
        # One jieba word is found as itself: every indexed word is a substring of its text.
        single_word = (
            len(phrases) == 1
            and query_words(phrases[0]) == phrases
            and _tokens(phrases[0]) == phrases
        )
        if phrases and not single_word:
            return self._exact(state, searcher, full, order_field, query, phrases)

        subject_counts, form_counts, total = self._facets(searcher, base, scope)
        kwargs = {"order_by_field": order_field} if order_field else {}
        found = searcher.search(
            full, query.limit, count=total is None, offset=query.offset, **kwargs
        )
        total = found.count if total is None else total
        if total == 0 and query.q.strip() and query.mode == "fuzzy" and not query.within:
            return self._title_fallback(state, query, audience)
        ids = searcher.fast_field_values("id", [address for _, address in found.hits])
        hits = [Hit(pk, float(key)) for (key, _), pk in zip(found.hits, ids, strict=True)]
        subject_counts.pop(0, None)
        form_counts.pop(0, None)
        return Result(total, hits, subject_counts, form_counts, ids[:10])

    def _facets(self, searcher, base, scope) -> tuple[dict, dict, int | None]:
        """Counts by subject ignoring the subject scope and by form ignoring the form scope,
        so that a person can switch between categories (tantivy terms aggregations over
        every match), and the total when one of them counted exactly the full query."""
        Q = tantivy.Query

        def terms(field):
            return {"terms": {"field": field, "size": 10_000}}

        def buckets(found, name):
            return {int(b["key"]): b["doc_count"] for b in found[name]["buckets"]}

        if not scope:
            found = searcher.aggregate(
                Q.boolean_query(base), {"subject": terms("subject"), "form": terms("form")}
            )
            subjects, forms = buckets(found, "subject"), buckets(found, "form")
            return subjects, forms, sum(subjects.values())
        counted = {}
        for facet in ("subject", "form"):
            clauses = base + [c for name, c in scope.items() if name != facet]
            found = searcher.aggregate(Q.boolean_query(clauses), {facet: terms(facet)})
            counted[facet] = buckets(found, facet)
        total = None
        if "subject" not in scope:  # the subject counts are those of the full query
            total = sum(counted["subject"].values())
        elif "form" not in scope:  # every article has a form bucket (0: none)
            total = sum(counted["form"].values())
        return counted["subject"], counted["form"], total

    def _exact(self, state, searcher, full, order_field, query: Query, phrases) -> Result:
        """精确匹配: the word matches, kept when a chosen field contains every phrase."""
        kwargs = {"order_by_field": order_field} if order_field else {}
        found = searcher.search(full, EXACT_CANDIDATES, **kwargs)
        ids = searcher.fast_field_values("id", [address for _, address in found.hits])
        keys = {pk: float(key) for (key, _), pk in zip(found.hits, ids, strict=True)}
        kept = set(_containing(state, ids, phrases, query.fields))
        ordered = [pk for pk in ids if pk in kept]
        hits = [Hit(pk, keys[pk]) for pk in ordered[query.offset : query.offset + query.limit]]
        return Result(
            total=len(ordered),
            hits=hits,
            subject_counts=_count(state, ordered, "subject_id"),
            form_counts=_count(state, ordered, "form_id"),
            top_ids=ordered[:10],
            truncated=found.count > EXACT_CANDIDATES,
        )

    def _title_fallback(self, state: _State, query: Query, audience: Audience) -> Result:
        """Nothing matched the words (a term jieba split differently, a typo of one
        character): titles that contain the typed text, newest first."""
        pieces = [p for p in query.q.lower().split() if p]
        matched = [
            (meta.updated_at, pk)
            for pk, meta in list(state.metas.items())
            if all(p in meta.title.lower() for p in pieces)
            and meta.visible_to(audience)
            and (query.subject_ids is None or meta.subject_id in query.subject_ids)
            and (query.form_id is None or meta.form_id == query.form_id)
        ]
        matched.sort(reverse=True)
        ordered = [pk for _, pk in matched]
        hits = [Hit(pk, 0.0) for pk in ordered[query.offset : query.offset + query.limit]]
        return Result(
            total=len(ordered),
            hits=hits,
            subject_counts=_count(state, ordered, "subject_id"),
            form_counts=_count(state, ordered, "form_id"),
            top_ids=ordered[:10],
            fallback=bool(ordered),
        )

    def suggest(self, prefix: str, audience: Audience, limit: int = 10) -> list[dict]:
        state = self.current()
        return state.suggestions.lookup(prefix, state.metas, audience, limit)

    def keywords_of(self, ids) -> list[tuple[str, ...]]:
        state = self._state
        if state is None:
            return []
        return [state.metas[pk].keywords for pk in ids if pk in state.metas]

    def size(self) -> int:
        state = self._state
        return len(state.metas) if state else 0


def _count(state: _State, ids, attribute: str) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for pk in ids:
        value = getattr(state.metas[pk], attribute)
        if value:
            counts[value] += 1
    return dict(counts)


def _containing(state: _State, ids: list[int], phrases: list[str], fields) -> list[int]:
    """The articles among ``ids`` in which one of the chosen fields contains every phrase
    as typed. Titles and keywords are in memory; only the rest is asked of the database
    (body text, attachments), in batches."""
    from django.db.models import Q

    def in_memory(pk: int) -> bool:
        meta = state.metas.get(pk)
        if meta is None:
            return False
        texts = []
        if "title" in fields:
            texts.append(meta.title)
        if "keywords" in fields:
            texts.append(",".join(meta.keywords))
        return all(any(phrase in text for text in texts) for phrase in phrases)

    kept = [pk for pk in ids if in_memory(pk)]
    rest = [pk for pk in ids if pk not in set(kept)]
    for start in range(0, len(rest), 500):
        batch = rest[start : start + 500]
        rows = Article.objects.filter(pk__in=batch)
        for phrase in phrases:
            condition = Q()
            if "title" in fields:
                condition |= Q(title__contains=phrase)
            if "keywords" in fields:
                condition |= Q(keywords__contains=phrase)
            if "content" in fields:
                condition |= Q(body_text__contains=phrase)
            if "attachments" in fields:
                condition |= Q(
                    pk__in=ArticleAttachment.objects.filter(
                        article_id__in=batch, text__contains=phrase
                    ).values("article_id")
                )
            rows = rows.filter(condition)
        kept.extend(rows.values_list("pk", flat=True))
    return kept


ENGINE = Engine()
