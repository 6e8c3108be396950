"""Full-text indexes over a model's segmented text column, one backend per database
(chosen by measurement, docs/decisions.md):

- SQLite: an FTS5 table with external content (the model's table), kept in step by
  triggers; ``MATCH`` gives the row ids.
- PostgreSQL: a stored generated ``tsvector`` column (``simple`` configuration: the
  words are already segmented) with a GIN index; and, for the substring fallback
  (``containing``), a pg_trgm GIN index over the index's ``substring_columns``.

The index objects live outside Django's model state, so they are (re)installed after
every ``migrate``: SQLite drops a table's triggers when a migration rebuilds the table.
"""

from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from .text import query_groups

REGISTRY: dict[str, "SearchIndex"] = {}


@dataclass(frozen=True)
class SearchIndex:
    """A model's column of segmented words (see ``text.index_text``) made searchable."""

    model: str  # "app_label.ModelName"
    column: str = "search_text"
    # Columns searched as plain substrings when the words find nothing (交通 inside
    # 交通局 is one word to jieba): trigram-indexed on PostgreSQL.
    substring_columns: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return apps.get_model(self.model)._meta.db_table

    @property
    def fts_table(self) -> str:
        return f"{self.table}_fts"

    @property
    def vector_column(self) -> str:
        return f"{self.column}_vector"

    def substring_expression(self, qualified: bool = True) -> str:
        """The text the trigram index covers: the columns joined by newlines (a query is
        one line, so it never matches across two columns), upper-cased so that the
        match ignores case. The query must use this very expression to use the index."""
        table = f'"{self.table}".' if qualified else ""
        joined = " || E'\\n' || ".join(f'{table}"{c}"::text' for c in self.substring_columns)
        return f"upper({joined})"


def register(index: SearchIndex) -> SearchIndex:
    REGISTRY[index.model] = index
    return index


def install_all(using: str = "default", **kwargs) -> None:
    """post_migrate: make sure every registered index exists and is in step."""
    connection = connections[using]
    for index in REGISTRY.values():
        if connection.vendor == "sqlite":
            _install_sqlite(connection, index)
        elif connection.vendor == "postgresql":
            _install_postgresql(connection, index)


def _install_sqlite(connection, index: SearchIndex) -> None:
    table, fts, column = index.table, index.fts_table, index.column
    triggers = {
        f"{fts}_ai": f"AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END",
        f"{fts}_ad": f"AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); END",
        f"{fts}_au": f"AFTER UPDATE OF {column} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
        f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
        )
        present = {name for (name,) in cursor.fetchall()}
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({column}, "
            f"content='{table}', content_rowid='id', tokenize='unicode61 remove_diacritics 0')"
        )
        missing = [name for name in triggers if name not in present]
        for name in missing:
            cursor.execute(f"CREATE TRIGGER {name} {triggers[name]}")
        if missing:  # rows may have changed while a trigger was gone
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _install_postgresql(connection, index: SearchIndex) -> None:
    table, column, vector = index.table, index.column, index.vector_column
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {vector} tsvector "
            f"GENERATED ALWAYS AS (to_tsvector('simple', {column})) STORED"
        )
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_{vector}_gin ON {table} USING gin ({vector})"
        )
        if index.substring_columns:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_substring_trgm ON {table} "
                f"USING gin (({index.substring_expression(False)}) gin_trgm_ops)"
            )


def matching(queryset: QuerySet, query: str, *, any_word: bool = False) -> QuerySet | None:
    """The rows of ``queryset`` whose indexed words contain every word of ``query`` (or
    one of its synonyms) — with ``any_word``, at least one of them. None when the query
    has no searchable word at all."""
    groups = query_groups(query)
    if not groups:
        return None
    index = REGISTRY[queryset.model._meta.label]
    vendor = connections[queryset.db].vendor
    if vendor == "postgresql":
        condition = RawSQL(
            f'"{index.table}"."{index.vector_column}" @@ to_tsquery(\'simple\', %s)',
            [_tsquery(groups, any_word)],
            output_field=BooleanField(),
        )
        return queryset.filter(condition)
    if vendor == "sqlite":
        rowids = RawSQL(
            f"SELECT rowid FROM {index.fts_table} WHERE {index.fts_table} MATCH %s",
            [_fts5_query(groups, any_word)],
        )
        return queryset.filter(pk__in=rowids)
    # The platform runs on SQLite (embedded) or PostgreSQL (distributed), nothing else.
    raise ImproperlyConfigured(f"全文检索只支持 SQLite 与 PostgreSQL，当前数据库为 {vendor}")


def containing(queryset: QuerySet, text: str) -> QuerySet | None:
    """The rows of ``queryset`` with ``text`` inside one of the index's substring columns,
    ignoring case, through the trigram index (PostgreSQL). None where there is no such
    index (SQLite: the caller decides how far a scan may go)."""
    index = REGISTRY[queryset.model._meta.label]
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or not index.substring_columns:
        return None
    pattern = f"%{connection.ops.prep_for_like_query(text)}%"
    condition = RawSQL(
        f"{index.substring_expression()} LIKE upper(%s)", [pattern], output_field=BooleanField()
    )
    return queryset.filter(condition)


def _fts5_query(groups: list[list[str]], any_word: bool = False) -> str:
    def phrase(word: str) -> str:
        return '"' + word.replace('"', '""') + '"'

    return (" OR " if any_word else " AND ").join(
        "(" + " OR ".join(phrase(w) for w in group) + ")" for group in groups
    )


def _tsquery(groups: list[list[str]], any_word: bool = False) -> str:
    def lexeme(word: str) -> str:
        return "'" + word.replace("\\", "").replace("'", "''") + "'"

    return (" | " if any_word else " & ").join(
        "(" + " | ".join(lexeme(w) for w in group) + ")" for group in groups
    )
