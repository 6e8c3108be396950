"""采编与审核: every write to knowledge articles.

    permission → scope (out of scope reads as not found) → row lock → state guard
    → the change → one audit row, in one transaction.

- :func:`article_create` / :func:`article_update` save the text (sanitised HTML, plain
  text, segmented ``search_*`` words); each save is a new :class:`ArticleVersion`.
- :func:`article_move` is the one door for state changes, as :data:`ARTICLE_MOVES`
  declares them (提交审核, 撤回, 审核通过并发布, 退回修改, 修订, 归档, 恢复为草稿);
  :func:`article_move_many` is 批量审核, each article on its own.
- :func:`article_rollback` brings back an old version as a new draft version.
- attachments (附件, text extracted for search) and images (正文图片) for the editor.
- :func:`articles_import` reads the xlsx template row by row.

The search engine follows ``updated_at``: every change that alters what search shows
(state, text, category, attachments, dates) bumps it.
"""

import datetime as dt
import io
import re
import uuid
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from hotline import search
from hotline.core import audit
from hotline.core.errors import Conflict, HotlineError, NotFound, Unprocessable
from hotline.core.models import Platform, User
from hotline.core.scope import scope_of
from hotline.core.services import require

from .. import content
from ..lifecycle import ARTICLE_MOVES, ARTICLE_STATE_LABELS, ArticleState, Move
from ..models import Article, ArticleAttachment, ArticleVersion, Category, Dimension
from ..selectors import articles as selectors

TITLE_MAX = 120
KEYWORDS_MAX = 200
BODY_MAX = 100_000
NOTE_MAX = 200
RELATED_MAX = 10
_UNSET = object()

# --- fields ---------------------------------------------------------------------------------


def _title(value) -> str:
    value = re.sub(r"\s+", " ", str(value or "")).strip()
    if not value:
        raise Unprocessable("请填写标题", field="title")
    if len(value) > TITLE_MAX:
        raise Unprocessable(f"标题不能超过 {TITLE_MAX} 字", field="title")
    return value


def normalize_keywords(value) -> str:
    """ "医保，报销、 异地" or a list → "医保,报销,异地" (no repeats, in order)."""
    if isinstance(value, list | tuple):
        words = [str(v) for v in value]
    else:
        words = re.split(r"[,，、;；\s]+", str(value or ""))
    words = list(dict.fromkeys(w.strip() for w in words if w.strip()))
    joined = ",".join(words)
    if len(joined) > KEYWORDS_MAX:
        raise Unprocessable(f"关键词合计不能超过 {KEYWORDS_MAX} 字", field="keywords")
    return joined


def _body(value) -> tuple[str, str]:
    raw = str(value or "")
    if len(raw) > BODY_MAX:
        raise Unprocessable("正文过长（不超过 10 万字符）", field="body")
    body = content.sanitize(raw)
    text = content.html_to_text(body)
    if not text:
        raise Unprocessable("请填写正文", field="body")
    return body, text


def _subject(actor, subject) -> Category:
    if not isinstance(subject, Category) or subject.dimension != Dimension.SUBJECT:
        raise Unprocessable("请选择主题分类", field="subject")
    if not selectors.category_visible(actor, subject):
        raise NotFound("主题分类不存在或不在您的管辖范围内", field="subject")
    if not subject.is_active:
        raise Unprocessable(f"主题分类“{subject.name}”已停用", field="subject")
    return subject


def _form(form) -> Category | None:
    if form is None:
        return None
    if not isinstance(form, Category) or form.dimension != Dimension.FORM:
        raise Unprocessable("知识形式不正确", field="form")
    if not form.is_active:
        raise Unprocessable(f"知识形式“{form.name}”已停用", field="form")
    return form


def _dates(effective_from, expires_on) -> None:
    for value, name in ((effective_from, "effective_from"), (expires_on, "expires_on")):
        if value is not None and not isinstance(value, dt.date):
            raise Unprocessable("日期格式应为 YYYY-MM-DD", field=name)
    if effective_from and expires_on and expires_on <= effective_from:
        raise Unprocessable("失效日期须晚于生效日期", field="expires_on")


def _note(note) -> str:
    note = str(note or "").strip()
    if len(note) > NOTE_MAX:
        raise Unprocessable(f"说明不能超过 {NOTE_MAX} 字", field="note")
    return note


def _related(article: Article | None, platform: Platform, related) -> list[Article]:
    ids = []
    for item in related or ():
        pk = item.pk if isinstance(item, Article) else item
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise Unprocessable("相关知识编号不正确", field="related") from None
        if article is not None and pk == article.pk:
            raise Unprocessable("相关知识不能是自己", field="related")
        if pk not in ids:
            ids.append(pk)
    if len(ids) > RELATED_MAX:
        raise Unprocessable(f"相关知识最多 {RELATED_MAX} 条", field="related")
    found = list(Article.objects.filter(pk__in=ids, platform=platform))
    missing = set(ids) - {a.pk for a in found}
    if missing:
        raise Unprocessable(
            f"相关知识不存在：{'、'.join(str(m) for m in sorted(missing))}", field="related"
        )
    return found


def _title_free(platform: Platform, title: str, exclude: Article | None = None) -> None:
    same = Article.objects.filter(platform=platform, title=title).exclude(
        state=ArticleState.ARCHIVED
    )
    if exclude is not None:
        same = same.exclude(pk=exclude.pk)
    if same.exists():
        raise Conflict(f"已有同名知识“{title}”", field="title")


def index(article: Article) -> None:
    """Fill the segmented search columns from the article's text."""
    article.search_title = search.index_text(article.title)
    # each keyword whole (an editor's chosen term) and its segmented words
    words = [k.strip().lower() for k in article.keyword_list if " " not in k.strip()]
    words += search.index_text(" ".join(article.keyword_list)).split()
    article.search_keywords = " ".join(dict.fromkeys(words))
    article.search_body = search.index_text(article.body_text)


def index_attachments(article: Article) -> None:
    texts = article.attachments.values_list("name", "text")
    article.search_attachments = search.index_text(*(f"{n}\n{t}" for n, t in texts))


def _version(article: Article, actor: User | None, note: str, at) -> ArticleVersion:
    return ArticleVersion.objects.create(
        article=article,
        number=article.version,
        title=article.title,
        keywords=article.keywords,
        body=article.body,
        subject=article.subject,
        form=article.form,
        effective_from=article.effective_from,
        expires_on=article.expires_on,
        note=note,
        saved_by=actor,
        saved_at=at,
    )


CONTENT_FIELDS = ("title", "keywords", "body", "subject", "form", "effective_from", "expires_on")


def _snapshot(article: Article) -> dict:
    values = audit.snapshot(
        article, fields=("title", "keywords", "subject", "form", "effective_from", "expires_on")
    )
    values["body_text"] = article.body_text[:500]
    return values


def _lock(article: Article) -> Article:
    return (
        Article.objects.select_for_update(of=("self",))
        .select_related("subject", "form", "platform")
        .get(pk=article.pk)
    )


def _guard(actor: User | None, article: Article) -> None:
    if not selectors.article_in_scope(actor, article):
        raise NotFound("知识不存在或不在您的管辖范围内")


# --- create and update ---------------------------------------------------------------------


@transaction.atomic
def article_create(
    *,
    actor: User | None,
    title: str,
    subject: Category,
    body: str,
    form: Category | None = None,
    keywords="",
    effective_from: dt.date | None = None,
    expires_on: dt.date | None = None,
    related=(),
    platform: Platform | None = None,
    note: str = "",
) -> Article:
    """新建知识: a draft, version 1. The platform is the editor's own unless given (the
    system's imports name it)."""
    require(actor, "kb.edit")
    if platform is None:
        if actor is None:
            raise Unprocessable("请指定平台", field="platform")
        platform = actor.platform
    if actor is not None and not (
        scope_of(actor).covers_platform(platform.pk)
        or (selectors.unit_of(actor) is not None and platform.pk == actor.platform_id)
    ):
        raise NotFound("平台不存在或不在您的管辖范围内", field="platform")
    title = _title(title)
    subject = _subject(actor, subject)
    form = _form(form)
    keywords = normalize_keywords(keywords)
    body, body_text = _body(body)
    _dates(effective_from, expires_on)
    note = _note(note) or "新建"
    _title_free(platform, title)
    related = _related(None, platform, related)
    now = timezone.now()
    article = Article(
        platform=platform,
        subject=subject,
        form=form,
        title=title,
        keywords=keywords,
        body=body,
        body_text=body_text,
        effective_from=effective_from,
        expires_on=expires_on,
        state=ArticleState.DRAFT,
        version=1,
        created_by=actor,
        created_at=now,
        updated_by=actor,
        updated_at=now,
    )
    index(article)
    article.save()
    if related:
        article.related.set(related)
    _version(article, actor, note, now)
    audit.record(
        "kb.article.create", article, after=_snapshot(article), detail={"version": 1}, actor=actor
    )
    return article


@transaction.atomic
def article_update(
    *,
    actor: User | None,
    article: Article,
    note: str = "",
    expected_version: int | None = None,
    title=_UNSET,
    subject=_UNSET,
    form=_UNSET,
    keywords=_UNSET,
    body=_UNSET,
    effective_from=_UNSET,
    expires_on=_UNSET,
    related=_UNSET,
) -> Article:
    """保存修改 of a draft: the fields given change, and the save becomes a new version
    with ``note`` (修改说明). A published article is first taken back with 修订, a
    submitted one with 撤回. ``expected_version``: the version the editor started from;
    if someone saved in between, the save is refused instead of overwriting theirs."""
    require(actor, "kb.edit")
    _guard(actor, article)
    article = _lock(article)
    _guard(actor, article)
    if article.state != ArticleState.DRAFT:
        label = ARTICLE_STATE_LABELS[ArticleState(article.state)]
        hint = {
            ArticleState.PUBLISHED: "请先“修订”转为草稿",
            ArticleState.PENDING: "请先“撤回”",
            ArticleState.ARCHIVED: "请先“恢复为草稿”",
        }.get(ArticleState(article.state), "")
        raise Conflict(f"知识当前为“{label}”，不能直接修改；{hint}")
    if expected_version is not None and expected_version != article.version:
        raise Conflict(f"该知识已被他人保存为第 {article.version} 版，请刷新后在最新版本上修改")
    before = _snapshot(article)
    before_related = set(article.related.values_list("pk", flat=True))
    if title is not _UNSET:
        article.title = _title(title)
        _title_free(article.platform, article.title, exclude=article)
    if subject is not _UNSET and (subject is None or subject.pk != article.subject_id):
        article.subject = _subject(actor, subject)
    if form is not _UNSET and (form.pk if form else None) != article.form_id:
        article.form = _form(form)
    if keywords is not _UNSET:
        article.keywords = normalize_keywords(keywords)
    if body is not _UNSET:
        article.body, article.body_text = _body(body)
    if effective_from is not _UNSET:
        article.effective_from = effective_from
    if expires_on is not _UNSET:
        article.expires_on = expires_on
    _dates(article.effective_from, article.expires_on)
    new_related = None
    if related is not _UNSET:
        new_related = _related(article, article.platform, related)
    after = _snapshot(article)
    related_changed = new_related is not None and {a.pk for a in new_related} != before_related
    if after == before and not related_changed:
        return article  # nothing changed: no new version
    if article.subject_id != int(before["subject"]):
        _guard(actor, article)  # a unit editor may not file it outside their nodes
    now = timezone.now()
    article.version += 1
    article.updated_by, article.updated_at = actor, now
    index(article)
    article.save()
    if related_changed:
        article.related.set(new_related)
    note = _note(note) or "修改"
    _version(article, actor, note, now)
    audit_after = {**after}
    if related_changed:
        before["related"] = sorted(before_related)
        audit_after["related"] = sorted(a.pk for a in new_related)
    audit.record(
        "kb.article.update",
        article,
        before=before,
        after=audit_after,
        detail={"version": article.version, "note": note},
        actor=actor,
    )
    return article


# --- states --------------------------------------------------------------------------------


def _apply_move(actor, article: Article, spec: Move, note: str, now) -> str:
    """The state change itself, on a locked article (guards done by the caller)."""
    source = article.state
    target = spec.target(ArticleState(source))
    article.state = target
    article.updated_by, article.updated_at = actor, now
    fields = ["state", "updated_by", "updated_at"]
    if target == ArticleState.PUBLISHED:
        article.published_at = now
        fields.append("published_at")
    article.save(update_fields=fields)
    detail = {"move": spec.code, "version": article.version}
    if note:
        detail["note"] = note
    audit.record(
        f"kb.article.{spec.code}",
        article,
        before={"state": source},
        after={"state": target},
        detail=detail,
        actor=actor,
    )
    return source


@transaction.atomic
def article_move(*, actor: User | None, article: Article, move: str, note: str = "") -> Article:
    """Carry out one move of :data:`ARTICLE_MOVES` (提交审核, 审核通过并发布 …): the move's
    permission, the article in the actor's scope, the article in one of the move's
    source states. 退回修改 needs a reason in ``note``."""
    spec = ARTICLE_MOVES.get(move)
    if spec is None:
        raise NotFound(f"未知的操作：{move}")
    require(actor, spec.permission)
    _guard(actor, article)
    article = _lock(article)
    _guard(actor, article)
    note = _note(note)
    if article.state not in spec.sources:
        label = ARTICLE_STATE_LABELS[ArticleState(article.state)]
        raise Conflict(f"知识当前为“{label}”，不能{spec.label}")
    if move == "reject" and not note:
        raise Unprocessable("退回修改须填写退回原因", field="note")
    if move == "approve" and article.is_expired():
        raise Conflict("该知识已过失效日期，请修订失效日期后再发布")
    _apply_move(actor, article, spec, note, timezone.now())
    return article


@dataclass
class MoveResult:
    id: int
    title: str
    ok: bool
    message: str
    state: str = ""


def article_move_many(*, actor: User | None, ids, move: str, note: str = "") -> list[MoveResult]:
    """批量审核 (or any move on many): each article in its own transaction, so that one
    refusal does not undo the others; one result per id, in the order given."""
    spec = ARTICLE_MOVES.get(move)
    if spec is None:
        raise NotFound(f"未知的操作：{move}")
    require(actor, spec.permission)
    clean_ids = []
    for pk in ids or ():
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            continue
        if pk not in clean_ids:
            clean_ids.append(pk)
    if not clean_ids:
        raise Unprocessable("请至少选择一条知识", field="ids")
    if len(clean_ids) > 500:
        raise Unprocessable("一次最多处理 500 条", field="ids")
    titles = dict(selectors.articles_for(actor).filter(pk__in=clean_ids).values_list("pk", "title"))
    results = []
    for pk in clean_ids:
        if pk not in titles:
            results.append(MoveResult(pk, "", False, "知识不存在或不在您的管辖范围内"))
            continue
        try:
            article = _move_one(actor, pk, move, note)
        except HotlineError as error:
            results.append(MoveResult(pk, titles[pk], False, error.message))
        else:
            results.append(
                MoveResult(
                    pk,
                    titles[pk],
                    True,
                    f"已{spec.label}",
                    ARTICLE_STATE_LABELS[ArticleState(article.state)],
                )
            )
    return results


def _move_one(actor, pk: int, move: str, note: str) -> Article:
    article = Article.objects.select_related("subject").get(pk=pk)
    return article_move(actor=actor, article=article, move=move, note=note)


@transaction.atomic
def article_rollback(
    *, actor: User | None, article: Article, number: int, note: str = ""
) -> Article:
    """回滚到某一版本: the old version's text and fields become a NEW version (nothing is
    deleted, the history stays whole), and the article is a draft again.

    Why a draft, whatever the state: an old text is not reviewed just because it was once
    published — facts, dates or fees may have changed since — so it goes through review
    again (提交审核 → 审核通过并发布). The state change is the table's own edge back to
    draft (修订 from published, 撤回 from pending, 恢复为草稿 from archived), audited as
    that move; then the copy is saved as :func:`article_update` saves."""
    require(actor, "kb.edit")
    _guard(actor, article)
    article = _lock(article)
    _guard(actor, article)
    version = selectors.version_of(article, number)
    if version.number == article.version:
        raise Conflict("这已是当前版本，无需回滚")
    now = timezone.now()
    if article.state != ArticleState.DRAFT:
        spec = next(
            m
            for m in ARTICLE_MOVES.values()
            if m.permission == "kb.edit"
            and (ArticleState(article.state), ArticleState.DRAFT) in m.edges
        )
        _apply_move(actor, article, spec, f"回滚到第 {version.number} 版", now)
    subject = version.subject
    if not subject.is_active or not selectors.category_visible(actor, subject):
        subject = article.subject  # the old node is gone from the editor's reach: keep today's
    form = version.form if version.form is None or version.form.is_active else article.form
    return article_update(
        actor=actor,
        article=article,
        note=_note(note) or f"回滚到第 {version.number} 版",
        title=version.title,
        subject=subject,
        form=form,
        keywords=version.keywords,
        body=version.body,
        effective_from=version.effective_from,
        expires_on=version.expires_on,
    )


# --- attachments and images ------------------------------------------------------------------

MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain",
}
_MAGIC = {
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "pdf": (b"%PDF-",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
}


def _read_upload(upload, *, types, limit: int, label: str, field_name: str) -> tuple[str, bytes]:
    """(extension, bytes) of an uploaded file whose type (by name and by content) and
    size are allowed; else a Chinese refusal."""
    name = str(getattr(upload, "name", "") or "")
    ext = PurePosixPath(name).suffix.lower().lstrip(".")
    if ext not in types:
        allowed = "、".join(sorted(types))
        raise Unprocessable(f"{label}“{name}”类型不允许，仅支持：{allowed}", field=field_name)
    size = getattr(upload, "size", None) or 0
    if size > limit:
        raise Unprocessable(f"{label}“{name}”超过 {limit // (1024 * 1024)} MB", field=field_name)
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise Unprocessable(f"{label}“{name}”超过 {limit // (1024 * 1024)} MB", field=field_name)
    if not data:
        raise Unprocessable(f"{label}“{name}”是空文件", field=field_name)
    if ext in _MAGIC and not any(data.startswith(m) for m in _MAGIC[ext]):
        raise Unprocessable(f"{label}“{name}”的内容与扩展名 .{ext} 不符", field=field_name)
    if ext == "txt" and b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Unprocessable(f"{label}“{name}”不是文本文件", field=field_name)
    return ext, data


def _require_draft(article: Article, what: str) -> None:
    if article.state != ArticleState.DRAFT:
        label = ARTICLE_STATE_LABELS[ArticleState(article.state)]
        raise Conflict(f"知识当前为“{label}”，不能{what}；请先转为草稿")


def attachment_add(*, actor: User | None, article: Article, upload) -> ArticleAttachment:
    """上传附件 to a draft: type and size checked, its text extracted (pdf, docx, xlsx,
    txt, doc) and made searchable with the article."""
    require(actor, "kb.edit")
    _guard(actor, article)
    ext, data = _read_upload(
        upload,
        types=ATTACHMENT_TYPES,
        limit=MAX_ATTACHMENT_BYTES,
        label="附件",
        field_name="file",
    )
    text, _reason = content.extract_text(ext, data)  # before the transaction: may be slow
    name = str(upload.name).replace("/", "_").replace("\\", "_").strip()[-200:]
    stored = None
    try:
        with transaction.atomic():
            article = _lock(article)
            _guard(actor, article)
            _require_draft(article, "上传附件")
            if article.attachments.count() >= MAX_ATTACHMENTS:
                raise Unprocessable(f"每条知识最多 {MAX_ATTACHMENTS} 个附件", field="file")
            attachment = ArticleAttachment(
                article=article, name=name, size=len(data), text=text, uploaded_by=actor
            )
            attachment.file.save(name, ContentFile(data), save=False)
            stored = attachment.file.name
            attachment.save()
            index_attachments(article)
            article.updated_by, article.updated_at = actor, timezone.now()
            article.save(update_fields=["search_attachments", "updated_by", "updated_at"])
            audit.record(
                "kb.article.attachment_add",
                article,
                detail={"name": name, "size": len(data), "text_chars": len(text)},
                actor=actor,
            )
    except BaseException:
        if stored:
            default_storage.delete(stored)
        raise
    return attachment


def attachment_reason(attachment: ArticleAttachment) -> str:
    """Why an attachment has no searchable text (shown on the editor page)."""
    if attachment.text:
        return ""
    ext = PurePosixPath(attachment.name).suffix.lower().lstrip(".")
    return content.NO_TEXT_REASONS.get(ext, "未提取到文字（文件中没有可识别的文字或无法解析）")


@transaction.atomic
def attachment_remove(
    *, actor: User | None, article: Article, attachment: ArticleAttachment
) -> None:
    require(actor, "kb.edit")
    _guard(actor, article)
    article = _lock(article)
    _guard(actor, article)
    if attachment.article_id != article.pk:
        raise NotFound("附件不存在")
    _require_draft(article, "删除附件")
    name, stored = attachment.name, attachment.file.name
    attachment.delete()
    index_attachments(article)
    article.updated_by, article.updated_at = actor, timezone.now()
    article.save(update_fields=["search_attachments", "updated_by", "updated_at"])
    audit.record("kb.article.attachment_remove", article, detail={"name": name}, actor=actor)
    transaction.on_commit(lambda: default_storage.delete(stored))


IMAGE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
IMAGES_DIR = "kb/images"


def image_path(url: str) -> str | None:
    """The storage name of an image URL of ours (/kb/images/2026/11/<hex>.png), else None."""
    if not content.IMAGE_URL.match(url or ""):
        return None
    return IMAGES_DIR + url[len("/kb/images") :]


@transaction.atomic
def image_store(*, actor: User | None, upload) -> str:
    """正文图片: store a jpg/png for the editor; returns the URL the body may use (the
    sanitiser keeps only images at such URLs)."""
    require(actor, "kb.edit")
    ext, data = _read_upload(
        upload, types=IMAGE_TYPES, limit=MAX_IMAGE_BYTES, label="图片", field_name="image"
    )
    ext = "jpg" if ext == "jpeg" else ext
    today = timezone.localdate()
    relative = f"{today:%Y/%m}/{uuid.uuid4().hex}.{ext}"
    stored = default_storage.save(f"{IMAGES_DIR}/{relative}", ContentFile(data))
    if stored != f"{IMAGES_DIR}/{relative}":  # storage renamed it: never expected for a uuid
        default_storage.delete(stored)
        raise Conflict("图片保存失败，请重试")
    audit.record(
        "kb.image.upload",
        object_type="knowledge.image",
        object_id=relative,
        object_repr=str(getattr(upload, "name", ""))[:200],
        detail={"size": len(data)},
        actor=actor,
    )
    return f"/kb/images/{relative}"


# --- export ------------------------------------------------------------------------------------


def articles_exported(*, actor: User | None, filters: dict, rows: int) -> None:
    """批量导出 is audited: who took which list out."""
    require(actor, "kb.edit")
    audit.record(
        "kb.article.export",
        object_type="knowledge.article",
        detail={"filters": filters, "rows": rows},
        actor=actor,
    )


# --- import ------------------------------------------------------------------------------------

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 2000


@dataclass
class RowError:
    row: int  # the spreadsheet's row number (the header is row 1)
    title: str
    problems: list[str]


@dataclass
class ImportReport:
    rows: int = 0
    created: list[Article] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    published: bool = False


def _cell_date(value, label: str, problems: list[str]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text) or re.fullmatch(
        r"(\d{4})年(\d{1,2})月(\d{1,2})日", text
    )
    if match:
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            pass
    problems.append(f"{label}“{value}”不是有效日期（格式 YYYY-MM-DD）")
    return None


def _read_sheet(upload) -> list[tuple[int, dict]]:
    from openpyxl import load_workbook

    name = str(getattr(upload, "name", "") or "")
    if not name.lower().endswith(".xlsx"):
        raise Unprocessable("请上传 .xlsx 格式的导入文件（可先下载模板）", field="file")
    if (getattr(upload, "size", 0) or 0) > MAX_IMPORT_BYTES:
        raise Unprocessable("导入文件不能超过 5 MB", field="file")
    upload.seek(0)
    data = upload.read()
    if not data.startswith(b"PK\x03\x04"):
        raise Unprocessable("文件不是有效的 xlsx 表格", field="file")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # any damage to the zip or its XML: the user's file, not our bug
        raise Unprocessable("无法读取该表格，请使用下载的模板填写后上传", field="file") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None) or ()
        names = [str(h).strip() if h is not None else "" for h in header]
        missing = [h for h in selectors.IMPORT_HEADERS if h not in names]
        if missing:
            raise Unprocessable(f"表头缺少：{'、'.join(missing)}（请使用下载的模板）", field="file")
        columns = {h: names.index(h) for h in selectors.IMPORT_HEADERS}
        found = []
        for number, values in enumerate(rows, start=2):
            values = list(values) + [None] * (len(names) - len(values))
            row = {h: values[i] for h, i in columns.items()}
            if all(v in (None, "") or str(v).strip() == "" for v in row.values()):
                continue
            found.append((number, row))
            if len(found) > MAX_IMPORT_ROWS:
                raise Unprocessable(f"一次最多导入 {MAX_IMPORT_ROWS} 条", field="file")
        return found
    finally:
        workbook.close()


def _import_row(actor, platform, row: dict, seen_titles: set[str]) -> tuple[dict, list[str]]:
    """The fields of one row, and every problem found in it (all of them, not the first)."""
    problems: list[str] = []
    fields: dict = {}
    title = str(row["标题"] or "").strip()
    try:
        fields["title"] = _title(title)
    except HotlineError as error:
        problems.append(error.message)
    code = str(row["主题分类编码"] or "").strip()
    if code.endswith(".0") and code[:-2].isdigit():  # a number cell: 101.0 → "101"
        code = code[:-2]
    subject = selectors.category_by_code(Dimension.SUBJECT, code) if code else None
    if not code:
        problems.append("请填写主题分类编码")
    elif subject is None or not selectors.category_visible(actor, subject):
        problems.append(f"主题分类编码“{code}”不存在或不在您的管辖范围内")
    elif not subject.is_active:
        problems.append(f"主题分类“{subject.name}”已停用")
    else:
        fields["subject"] = subject
    form_name = str(row["知识形式"] or "").strip()
    if form_name:
        form = selectors.form_by_name_or_code(form_name)
        if form is None or not form.is_active:
            problems.append(f"知识形式“{form_name}”不存在")
        else:
            fields["form"] = form
    try:
        fields["keywords"] = normalize_keywords(str(row["关键词"] or ""))
    except HotlineError as error:
        problems.append(error.message)
    raw_body = str(row["正文"] or "").strip()
    body = raw_body if content.looks_like_html(raw_body) else content.text_to_html(raw_body)
    try:
        _body(body)
        fields["body"] = body
    except HotlineError as error:
        problems.append(error.message)
    effective = _cell_date(row["生效日期"], "生效日期", problems)
    expires = _cell_date(row["失效日期"], "失效日期", problems)
    fields["effective_from"], fields["expires_on"] = effective, expires
    if effective and expires and expires <= effective:
        problems.append("失效日期须晚于生效日期")
    if "title" in fields:
        if fields["title"] in seen_titles:
            problems.append("与表中前面的行标题重复")
        elif (
            Article.objects.filter(platform=platform, title=fields["title"])
            .exclude(state=ArticleState.ARCHIVED)
            .exists()
        ):
            problems.append("已有同名知识")
    return fields, problems


def articles_import(*, actor: User | None, upload, publish: bool = False) -> ImportReport:
    """批量导入 from the xlsx template. Every row is checked in full; a row with any
    problem is not imported at all and is reported with all its problems; every good
    row is imported, each in its own transaction (an article and its first version, or
    nothing). Good rows become drafts (草稿) for review — or, when ``publish`` is asked
    by someone who also holds kb.review, are published at once (the moves 提交审核 and
    审核通过并发布 are made and audited as if clicked)."""
    require(actor, "kb.edit")
    if publish:
        require(actor, "kb.review")
    rows = _read_sheet(upload)
    if not rows:
        raise Unprocessable("表格中没有数据行", field="file")
    platform = actor.platform if actor is not None else None
    if platform is None:
        raise Unprocessable("请指定平台", field="platform")
    report = ImportReport(rows=len(rows), published=publish)
    seen: set[str] = set()
    for number, row in rows:
        fields, problems = _import_row(actor, platform, row, seen)
        if "title" in fields:
            seen.add(fields["title"])
        if problems:
            report.errors.append(RowError(number, str(row["标题"] or "").strip(), problems))
            continue
        try:
            with transaction.atomic():
                article = article_create(
                    actor=actor, platform=platform, note=f"批量导入（第 {number} 行）", **fields
                )
                if publish:
                    for move in ("submit", "approve"):
                        article = article_move(actor=actor, article=article, move=move)
        except HotlineError as error:
            report.errors.append(RowError(number, fields.get("title", ""), [error.message]))
            continue
        report.created.append(article)
    audit.record(
        "kb.article.import",
        object_type="knowledge.article",
        detail={
            "rows": report.rows,
            "created": len(report.created),
            "errors": len(report.errors),
            "published": publish,
            "file": str(getattr(upload, "name", ""))[:100],
        },
        actor=actor,
    )
    return report
