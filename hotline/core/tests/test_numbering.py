"""Readable numbers (编号) such as SY20261122000123: unique, gap-free, per platform/day/kind,
also when many writers ask at the same moment."""

import datetime as dt
import re
import threading

import pytest
from django.db import connection
from django.utils import timezone

from hotline.core.numbering import next_number

DAY = dt.date(2026, 11, 22)
FORMAT = re.compile(r"^(?P<platform>[A-Z]{2,8})(?P<day>\d{8})(?P<seq>\d{6})$")


def test_format(db):
    number = next_number("SY", day=DAY)
    assert number == "SY20261122000001"
    match = FORMAT.match(number)
    assert match and match["platform"] == "SY" and match["day"] == "20261122"


def test_sequential_per_platform_day_and_kind(db):
    assert [next_number("SY", day=DAY) for _ in range(3)] == [
        "SY20261122000001",
        "SY20261122000002",
        "SY20261122000003",
    ]
    assert next_number("YZ", day=DAY) == "YZ20261122000001"  # another platform
    assert next_number("SY", day=DAY + dt.timedelta(days=1)) == "SY20261123000001"  # next day
    assert next_number("SY", "CALL", day=DAY) == "SY20261122000001"  # another kind
    assert next_number("SY", day=DAY) == "SY20261122000004"  # the first goes on
    assert next_number("YZ", day=DAY) == "YZ20261122000002"


def test_prefix_and_default_day(db):
    assert next_number("SY", "CB", day=DAY, prefix="HF") == "HFSY20261122000001"
    today = timezone.localdate()
    assert next_number("SY") == f"SY{today:%Y%m%d}000001"


def test_numbers_taken_in_a_rolled_back_transaction_are_reused(db):
    """A number belongs to the record written with it: when that write is rolled back, the
    number is handed out again rather than leaving a gap."""
    from django.db import transaction

    next_number("SY", day=DAY)
    with pytest.raises(RuntimeError), transaction.atomic():
        next_number("SY", day=DAY)
        raise RuntimeError("写入失败")
    assert next_number("SY", day=DAY) == "SY20261122000002"


def _take_concurrently(threads: int, each: int, platform: str = "SY") -> list[str]:
    barrier = threading.Barrier(threads)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker():
        try:
            barrier.wait(timeout=30)
            mine = [next_number(platform, day=DAY) for _ in range(each)]
            with lock:
                results.extend(mine)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def _assert_gap_free(numbers: list[str], total: int) -> None:
    assert len(numbers) == total
    assert len(set(numbers)) == total
    assert sorted(int(FORMAT.match(n)["seq"]) for n in numbers) == list(range(1, total + 1))


@pytest.mark.postgres
def test_concurrent_writers_postgresql(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("需要 PostgreSQL（设置 DATABASE_URL）")
    _assert_gap_free(_take_concurrently(8, 50), 400)


def test_concurrent_writers_sqlite(transactional_db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite 专用（PostgreSQL 由上一项测试）")
    _assert_gap_free(_take_concurrently(4, 25), 100)
