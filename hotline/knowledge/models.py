"""知识库: categories in several dimensions, articles with versions and attachments,
ratings, favourites, synonyms, search logs and 查无纠错 reports."""

import uuid
from pathlib import PurePosixPath

from django.db import models
from django.utils import timezone

from hotline.core.models import HandlingUnit, NamedTreeNode, Platform, User

from .lifecycle import (
    ARTICLE_STATE_LABELS,
    CORRECTION_STATE_LABELS,
    ArticleState,
    CorrectionState,
)


class Dimension(models.TextChoices):
    """A way of sorting articles; an article sits in one node of each dimension."""

    SUBJECT = "subject", "主题"  # 社会保障 / 养老保险 …
    FORM = "form", "形式"  # 政策法规 / 办事指南 / 常见问答 / 通知公告


class Category(NamedTreeNode, models.Model):
    """知识分类: a tree per dimension. A node may be owned by a handling unit: that
    unit's editors then see and edit only the articles under their own nodes."""

    dimension = models.CharField("维度", max_length=10, choices=Dimension.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级分类",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    code = models.CharField("分类编码", max_length=20)
    name = models.CharField("分类名称", max_length=50)
    owner_unit = models.ForeignKey(
        HandlingUnit,
        verbose_name="维护单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="kb_categories",
    )
    sort = models.PositiveIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "知识分类"
        ordering = ["dimension", "sort", "code"]
        constraints = [
            models.UniqueConstraint(fields=["dimension", "code"], name="kb_category_code")
        ]

    def __str__(self):
        return self.name


class Article(models.Model):
    """知识条目. The row holds the current text; every saved change is also an
    ``ArticleVersion``. ``search_*`` columns hold the jieba words for the search index."""

    platform = models.ForeignKey(
        Platform, verbose_name="平台", on_delete=models.PROTECT, related_name="kb_articles"
    )
    subject = models.ForeignKey(
        Category,
        verbose_name="主题分类",
        on_delete=models.PROTECT,
        related_name="articles",
        limit_choices_to={"dimension": Dimension.SUBJECT},
    )
    form = models.ForeignKey(
        Category,
        verbose_name="知识形式",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="form_articles",
        limit_choices_to={"dimension": Dimension.FORM},
    )
    title = models.CharField("标题", max_length=120)
    keywords = models.CharField("关键词", max_length=200, blank=True)
    body = models.TextField("正文（HTML）", max_length=100_000)
    body_text = models.TextField("正文（纯文本）", blank=True, editable=False)
    effective_from = models.DateField("生效日期", null=True, blank=True)
    expires_on = models.DateField("失效日期", null=True, blank=True)
    state = models.CharField(
        "状态",
        max_length=10,
        choices=[(s.value, label) for s, label in ARTICLE_STATE_LABELS.items()],
        default=ArticleState.DRAFT,
        db_index=True,
    )
    version = models.PositiveIntegerField("版本", default=1)
    related = models.ManyToManyField("self", verbose_name="相关知识", blank=True)

    created_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    updated_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField("修改时间", default=timezone.now, db_index=True)
    published_at = models.DateTimeField("发布时间", null=True, blank=True)

    clicks = models.PositiveIntegerField("点击量", default=0)
    rating_count = models.PositiveIntegerField("评价人数", default=0)
    rating_sum = models.PositiveIntegerField("评分合计", default=0)

    search_title = models.TextField(blank=True, editable=False)
    search_keywords = models.TextField(blank=True, editable=False)
    search_body = models.TextField(blank=True, editable=False)
    search_attachments = models.TextField(blank=True, editable=False)

    # --- usage statistics (检索与使用, services/usage.py) ------------------------------------
    # Set whenever clicks or ratings change, so that the search engine re-reads the sort
    # values (点击量、评分、热度) of just those articles; ``updated_at`` stays the editors'.
    stats_at = models.DateTimeField("统计更新时间", null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "知识条目"
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["platform", "state", "subject"], name="kb_article_scope")]

    def __str__(self):
        return self.title

    @property
    def rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None

    def is_expired(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.expires_on is not None and self.expires_on < today

    @property
    def keyword_list(self) -> list[str]:
        return [k for k in self.keywords.replace("，", ",").split(",") if k.strip()]


class ArticleVersion(models.Model):
    """One saved state of an article (版本), for diff and rollback."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField("版本号")
    title = models.CharField("标题", max_length=120)
    keywords = models.CharField("关键词", max_length=200, blank=True)
    body = models.TextField("正文")
    subject = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    form = models.ForeignKey(Category, null=True, on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    note = models.CharField("修改说明", max_length=200, blank=True)
    saved_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    saved_at = models.DateTimeField("保存时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "知识版本"
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="kb_version_number")
        ]

    def __str__(self):
        return f"{self.article_id} 第{self.number}版"


def attachment_path(instance, filename: str) -> str:
    ext = PurePosixPath(filename).suffix.lower()
    return f"kb/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}{ext}"


class ArticleAttachment(models.Model):
    """附件 of an article; its text is extracted and searchable."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField("文件", upload_to=attachment_path, max_length=300)
    name = models.CharField("文件名", max_length=200)
    size = models.PositiveIntegerField("大小（字节）")
    text = models.TextField("提取的文字", blank=True)
    uploaded_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "知识附件"
        ordering = ["uploaded_at", "pk"]

    def __str__(self):
        return self.name


class Rating(models.Model):
    """评价: one per person and article (a new rating replaces the old)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField("评分")
    comment = models.CharField("评语", max_length=300, blank=True)
    at = models.DateTimeField("评价时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "知识评价"
        constraints = [models.UniqueConstraint(fields=["article", "user"], name="kb_rating_once")]

    def __str__(self):
        return f"{self.article_id} {self.score}分"


class FavoriteFolder(models.Model):
    """收藏夹 of one person."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="kb_folders")
    name = models.CharField("收藏夹", max_length=40)
    articles = models.ManyToManyField(Article, related_name="+", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "收藏夹"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="kb_folder_name")]

    def __str__(self):
        return self.name


class SynonymGroup(models.Model):
    """同义词: words that find each other (医保 医疗保险), managed by editors."""

    words = models.CharField("同义词（空格分隔）", max_length=200)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "同义词"
        ordering = ["words"]

    def __str__(self):
        return self.words

    @property
    def word_list(self) -> list[str]:
        return self.words.split()


class SearchLog(models.Model):
    """Every search (for hot words, related keywords and the 查无纠错 feed)."""

    user = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    query = models.CharField("检索词", max_length=100)
    results = models.PositiveIntegerField("结果数")
    at = models.DateTimeField("检索时间", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "检索日志"

    def __str__(self):
        return self.query


class Correction(models.Model):
    """查无纠错: "nothing found" for a query, or "this article is wrong"."""

    class Kind(models.TextChoices):
        NOT_FOUND = "not_found", "查无"
        WRONG = "wrong", "纠错"

    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    query = models.CharField("检索词", max_length=100, blank=True)
    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections"
    )
    description = models.TextField("问题描述", max_length=2000)
    state = models.CharField(
        "状态",
        max_length=10,
        choices=[(s.value, label) for s, label in CORRECTION_STATE_LABELS.items()],
        default=CorrectionState.OPEN,
        db_index=True,
    )
    reporter = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField("上报时间", default=timezone.now)
    handler = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    resolution = models.TextField("处理说明", blank=True, max_length=2000)
    resolved_article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "查无纠错"
        ordering = ["-reported_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()}：{self.query or self.article_id}"


# --- usage statistics (检索与使用, services/usage.py) ----------------------------------------


class ArticleClickDay(models.Model):
    """每日点击: how often an article was opened on one day, for the hot-article ranking
    and the hotness sort (近 7 / 30 天点击)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="click_days")
    day = models.DateField("日期", db_index=True)
    clicks = models.PositiveIntegerField("点击量", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "每日点击"
        constraints = [models.UniqueConstraint(fields=["article", "day"], name="kb_click_day")]

    def __str__(self):
        return f"{self.day} {self.clicks}"
