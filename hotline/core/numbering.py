"""Readable unique numbers (编号) per platform and day, e.g. ``SY20261122000123``.

One atomic ``UPDATE … SET last = last + 1 … RETURNING last`` per number: PostgreSQL
serialises concurrent writers on the row lock, SQLite on its write lock, so two writers
can never read the same value (tested with 8 concurrent writers on PostgreSQL).
"""

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from .models import NumberSequence

DIGITS = 6


def next_number(
    platform_code: str, kind: str = "WO", *, day: dt.date | None = None, prefix: str = ""
) -> str:
    """Take the next number for ``platform_code`` on ``day`` (today, Asia/Shanghai).

    ``kind`` keeps separate counters for separate record types (work orders, sessions…);
    ``prefix`` is put before the platform code when a record type wants one (e.g. "HF").
    """
    return next_numbers(platform_code, kind, 1, day=day, prefix=prefix)[0]


def next_numbers(
    platform_code: str,
    kind: str = "WO",
    count: int = 1,
    *,
    day: dt.date | None = None,
    prefix: str = "",
) -> list[str]:
    """Take ``count`` consecutive numbers at once (the bulk loader's block of a day)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    day = day or timezone.localdate()
    table = NumberSequence._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (platform_code, kind, day, last) VALUES (%s, %s, %s, 0) "
            "ON CONFLICT (platform_code, kind, day) DO NOTHING",
            [platform_code, kind, day],
        )
        cursor.execute(
            f"UPDATE {table} SET last = last + %s "
            "WHERE platform_code = %s AND kind = %s AND day = %s RETURNING last",
            [count, platform_code, kind, day],
        )
        (last,) = cursor.fetchone()
    return [
        f"{prefix}{platform_code}{day:%Y%m%d}{value:0{DIGITS}d}"
        for value in range(last - count + 1, last + 1)
    ]
