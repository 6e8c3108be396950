"""Demo knowledge base (演示知识库): the subject tree, the four forms and 300+ published
articles from data/articles/*.json, loaded into the demo hotline (``hotline init --demo``).

Articles are written in bulk rather than one service call each (the demo must stay
fast), but through the same helpers the services use — sanitised body, plain text,
segmented search words, version 1 — and the load itself is audited once. Articles whose
expiry date has passed keep it: they show up flagged as 已失效 and agents do not find them.
"""

import datetime as dt
import json
from pathlib import Path

from django.utils import timezone

from hotline.core import audit
from hotline.core.models import HandlingUnit

from . import content
from .lifecycle import ArticleState
from .models import Article, ArticleVersion, Category, Dimension
from .services import articles as article_services

DATA_DIR = Path(__file__).parent / "data" / "articles"
PLATFORM = "SY"
EDITOR = "kb01"
FORMS = [("ZCFG", "政策法规"), ("BSZN", "办事指南"), ("CJWD", "常见问答"), ("TZGG", "通知公告")]


def subject_files() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(DATA_DIR.glob("*.json"))]


def _nodes(dimension: str, rows: list[tuple]) -> dict[str, Category]:
    """Create (or update) the nodes ``(code, name, parent_code, owner, sort)`` of one
    level in bulk; returns {code: node}."""
    existing = {
        c.code: c
        for c in Category.objects.filter(dimension=dimension, code__in=[r[0] for r in rows])
    }
    new, changed = [], []
    for code, name, parent, owner, sort in rows:
        node = existing.get(code)
        if node is None:
            node = Category(dimension=dimension, code=code)
            new.append(node)
        else:
            changed.append(node)
        node.name, node.parent, node.owner_unit, node.sort = name, parent, owner, sort
        existing[code] = node
    Category.objects.bulk_create(new)
    if changed:
        Category.objects.bulk_update(changed, ["name", "parent", "owner_unit", "sort"])
    if new and new[0].pk is None:  # backends that do not return ids from a bulk insert
        ids = dict(
            Category.objects.filter(
                dimension=dimension, code__in=[n.code for n in new]
            ).values_list("code", "pk")
        )
        for node in new:
            node.pk = ids[node.code]
    return existing


def load_categories(units: dict[str, HandlingUnit], files: list[dict]) -> tuple[dict, dict]:
    """The form nodes {name: node} and the subject nodes {code: node}."""
    forms = _nodes(
        Dimension.FORM,
        [(code, name, None, None, index) for index, (code, name) in enumerate(FORMS, start=1)],
    )
    forms = {node.name: node for node in forms.values()}
    tops = _nodes(
        Dimension.SUBJECT,
        [
            (d["subject"]["code"], d["subject"]["name"], None, units.get(d["subject"]["owner"]), i)
            for i, d in enumerate(files, start=1)
        ],
    )
    children = _nodes(
        Dimension.SUBJECT,
        [
            (c["code"], c["name"], tops[d["subject"]["code"]], units.get(c["owner"]), i)
            for d in files
            for i, c in enumerate(d["subject"]["children"], start=1)
        ],
    )
    return forms, {**tops, **children}


def _day_start(day: dt.date, now: dt.datetime) -> dt.datetime:
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))
    return min(moment, now)


def load_articles(*, platform, editor=None, units=None) -> dict:
    """Create the categories and publish every demo article; returns counts."""
    if units is None:
        units = {u.code: u for u in HandlingUnit.objects.filter(platform__code=PLATFORM)}
    files = subject_files()
    forms, subjects = load_categories(units, files)
    now = timezone.now()
    rows, related = [], []
    for data in files:
        for item in data["articles"]:
            body = content.sanitize(item["body"])
            effective = dt.date.fromisoformat(item["effective"]) if item["effective"] else None
            expires = dt.date.fromisoformat(item["expires"]) if item["expires"] else None
            published = _day_start(effective, now) if effective else now
            article = Article(
                platform=platform,
                subject=subjects[item["category"]],
                form=forms[item["form"]],
                title=item["title"],
                keywords=article_services.normalize_keywords(item["keywords"]),
                body=body,
                body_text=content.html_to_text(body),
                effective_from=effective,
                expires_on=expires,
                state=ArticleState.PUBLISHED,
                version=1,
                created_by=editor,
                created_at=published,
                updated_by=editor,
                updated_at=now,
                published_at=published,
            )
            article_services.index(article)
            rows.append(article)
            related.append(item["related"])
    Article.objects.bulk_create(rows, batch_size=200)
    if rows[0].pk is None:  # backends that do not return ids from a bulk insert
        by_title = dict(Article.objects.filter(platform=platform).values_list("title", "pk"))
        for article in rows:
            article.pk = by_title[article.title]
    ArticleVersion.objects.bulk_create(
        [
            ArticleVersion(
                article=a,
                number=1,
                title=a.title,
                keywords=a.keywords,
                body=a.body,
                subject=a.subject,
                form=a.form,
                effective_from=a.effective_from,
                expires_on=a.expires_on,
                note="演示数据导入",
                saved_by=editor,
                saved_at=a.created_at,
            )
            for a in rows
        ],
        batch_size=200,
    )
    by_title = {a.title: a.pk for a in rows}
    links = set()
    for article, titles in zip(rows, related, strict=True):
        for title in titles:
            other = by_title.get(title)
            if other and other != article.pk:
                links.add((article.pk, other))
                links.add((other, article.pk))  # related is symmetrical
    through = Article.related.through
    through.objects.bulk_create(
        [through(from_article_id=a, to_article_id=b) for a, b in sorted(links)], batch_size=500
    )
    today = timezone.localdate()
    counts = {
        "articles": len(rows),
        "expired": sum(1 for a in rows if a.is_expired(today)),
        "subjects": len(subjects),
        "forms": len(forms),
        "related_links": len(links) // 2,
    }
    # the load is the CLI's act (like the rest of the demo organisation); the articles
    # name the demo editor as their author
    audit.record(
        "kb.demo_load",
        object_type="knowledge.article",
        detail={**counts, "editor": editor.username if editor else ""},
    )
    return counts


def demo_knowledge(context: dict) -> None:
    """The DEMO_EXTENSIONS loader: the knowledge base of the demo city (三亚)."""
    platform = context["platforms"].get(PLATFORM)
    if platform is None:
        return
    units = {
        code: unit for code, unit in context["units"].items() if unit.platform_id == platform.pk
    }
    counts = load_articles(platform=platform, editor=context["users"].get(EDITOR), units=units)
    context["created"]["kb_articles"] = counts["articles"]
    stdout = context.get("stdout")
    if stdout is not None:
        stdout.write(
            f"已建知识库：主题分类 {counts['subjects']} 个，知识 {counts['articles']} 条"
            f"（其中已失效 {counts['expired']} 条）\n"
        )
