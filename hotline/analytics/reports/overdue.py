"""每周超期清单 (weekly overdue list): the open orders past their running deadline.

The work-order app already makes this list — ``hotline.workorders.supervision`` writes it
every Wednesday 09:00 and tells the managers, office and dispatchers — so this report is
the same rows (``overdue_rows``, its headers and widths) on demand, for the platform and
the platforms below it. Orders are read as they stand when the report is made (an
order's past states are not replayed), which the report says.
"""

from hotline.core.models import Platform
from hotline.workorders import supervision

from . import base
from .base import Period, Section, Table


def build(kind, platform, period: Period, *, now) -> base.Report:
    platforms = Platform.objects.filter(path__startswith=platform.path, is_active=True).order_by(
        "path"
    )
    rows = []
    for each in platforms:
        rows += [[each.name, *row] for row in supervision.overdue_rows(each, now)]
    table = Table("逾期工单", ["平台", *supervision.HEADERS], rows, [22, *supervision.WIDTHS])
    stamp = now.astimezone(base.TZ)
    urged = sum(1 for row in rows if row[-1])
    sentences = [
        f"截至 {stamp:%Y-%m-%d %H:%M}，在办工单中超过时限的共 {len(rows)} 件"
        + (f"，其中 {urged} 件来电人已催办。" if rows else "。")
    ]
    by_unit: dict[str, int] = {}
    for row in rows:
        by_unit[row[3]] = by_unit.get(row[3], 0) + 1
    if by_unit:
        listed = "、".join(
            f"{u} {n} 件" for u, n in sorted(by_unit.items(), key=lambda kv: -kv[1])[:5]
        )
        sentences.append(f"逾期较多的是：{listed}。")
    return base.Report(
        kind,
        platform,
        period,
        [Section("逾期工单", sentences, [table])],
        generated_at=now,
        note="清单为生成时刻的在办逾期工单（与工单模块每周三 09:00 的逾期清单同一口径）。",
    )
