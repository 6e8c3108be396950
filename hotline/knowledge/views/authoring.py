"""Pages of 采编与审核: 知识采编 (list, batch actions, export), the editor, 待审核 (review
queue with batch review), versions with a side-by-side diff and rollback, 批量导入 with a
row-by-row report, 知识分类 (category trees), attachments and the editor's images.

Thin: reads through selectors, writes through services (pages.attempt turns their
refusals into messages, 403 or 404)."""

from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from hotline.core.audit import action_label
from hotline.core.errors import HotlineError
from hotline.core.models import HandlingUnit
from hotline.core.scope import scope_of
from hotline.web import pages

from ..content import ALLOWED_TAGS
from ..lifecycle import ARTICLE_MOVES, ARTICLE_STATE_LABELS, ArticleState
from ..models import Article, Category, Dimension
from ..selectors import articles as selectors
from ..services import articles as services
from ..services import categories as category_services

EDIT = "kb.edit"
REVIEW = "kb.review"
MANAGE = "kb.manage"
MOVE_STYLE = {
    "submit": "btn-primary",
    "approve": "btn-success",
    "reject": "btn-outline-danger",
    "withdraw": "btn-outline-secondary",
    "revise": "btn-outline-primary",
    "archive": "btn-outline-secondary",
    "restore": "btn-outline-primary",
}
STATE_CHOICES = [("", "全部状态")] + [(s.value, label) for s, label in ARTICLE_STATE_LABELS.items()]


def _chinese_errors(form: forms.Form) -> None:
    for field in form.fields.values():
        field.error_messages["required"] = f"请填写{field.label}"
        field.error_messages["invalid_choice"] = f"{field.label}取值不正确"
        field.error_messages["invalid"] = f"{field.label}格式不正确"
        if isinstance(field, forms.CharField):
            field.error_messages["max_length"] = f"{field.label}不能超过 %(limit_value)d 字"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


# --- the list --------------------------------------------------------------------------------


class ArticleFilterForm(forms.Form):
    q = forms.CharField(label="关键字", max_length=100, required=False)
    state = forms.ChoiceField(label="状态", choices=STATE_CHOICES, required=False)
    subject = forms.ChoiceField(label="主题分类", required=False)
    form = forms.ChoiceField(label="知识形式", required=False)
    expired = forms.ChoiceField(
        label="有效性",
        choices=[("", "全部"), ("yes", "已失效"), ("no", "未失效")],
        required=False,
    )
    sort = forms.ChoiceField(
        label="排序",
        choices=[
            ("updated", "最近修改"),
            ("title", "标题"),
            ("clicks", "点击量"),
            ("expires", "失效日期"),
        ],
        required=False,
    )

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        rows = selectors.tree(viewer, Dimension.SUBJECT)
        self.fields["subject"].choices = [("", "全部分类")] + [
            (str(r.node.pk), "　" * r.depth + r.node.name) for r in rows
        ]
        self.fields["form"].choices = [("", "全部形式"), *selectors.form_choices()]
        _chinese_errors(self)
        self.fields["q"].widget.attrs["placeholder"] = "标题、关键词或正文"

    def spec(self) -> selectors.ArticleFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return selectors.ArticleFilter(
            state=data.get("state", ""),
            subject=int(data["subject"]) if data.get("subject") else None,
            form=int(data["form"]) if data.get("form") else None,
            expired=data.get("expired", ""),
            q=data.get("q", "").strip(),
            sort=data.get("sort") or "updated",
        )


def _annotate(articles, today) -> list[Article]:
    names = selectors.path_names(Dimension.SUBJECT)
    for a in articles:
        a.expired = a.is_expired(today)
        a.state_label = ARTICLE_STATE_LABELS[ArticleState(a.state)]
        a.subject_path = names.get(a.subject_id, "")
    return articles


@pages.requires(EDIT, REVIEW)
def article_list(request):
    form = ArticleFilterForm(request.GET or None, viewer=request.user)
    queryset = selectors.articles_filtered(request.user, form.spec())
    page = pages.page_of(request, queryset, per_page=30)
    today = timezone.localdate()
    _annotate(page.object_list, today)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "knowledge/authoring/list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "counts": selectors.state_counts(request.user),
            "expired_count": selectors.expired_count(request.user, today=today),
            "batch_moves": _batch_moves(request.user),
            "can_edit": request.user.can(EDIT),
            "next": request.get_full_path(),
        },
    )


def _batch_moves(user) -> list:
    return [(code, m.label) for code, m in ARTICLE_MOVES.items() if user.can(m.permission)]


@pages.requires(EDIT)
def article_export(request):
    form = ArticleFilterForm(request.GET or None, viewer=request.user)
    queryset = selectors.articles_filtered(request.user, form.spec())
    total = queryset.count()
    content = selectors.export_workbook(queryset)
    filters = {k: v for k, v in request.GET.items() if v and k != "page"}
    services.articles_exported(
        actor=request.user, filters=filters, rows=min(total, selectors.MAX_EXPORT)
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    filename = f"知识列表-{stamp}.xlsx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@pages.requires(EDIT, REVIEW)
@require_POST
def article_batch(request):
    """批量操作 from the list or the review queue: each article's result reported."""
    move = request.POST.get("move", "")
    ids = request.POST.getlist("ids")
    back = _safe_next(request, reverse("kb_articles"))
    ok, results = pages.attempt(
        request,
        lambda: services.article_move_many(
            actor=request.user, ids=ids, move=move, note=request.POST.get("note", "")
        ),
    )
    if not ok:
        return redirect(back)
    done = sum(1 for r in results if r.ok)
    return render(
        request,
        "knowledge/authoring/batch_result.html",
        {
            "results": results,
            "move": ARTICLE_MOVES[move],
            "done": done,
            "failed": len(results) - done,
            "back": back,
        },
    )


def _safe_next(request, fallback: str) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return fallback


# --- the review queue ---------------------------------------------------------------------------


@pages.requires(REVIEW)
def review_queue(request):
    queryset = selectors.review_queue(request.user).select_related("updated_by")
    page = pages.page_of(request, queryset, per_page=50)
    today = timezone.localdate()
    _annotate(page.object_list, today)
    return render(
        request,
        "knowledge/authoring/review.html",
        {"page": page, "next": request.get_full_path()},
    )


# --- the editor --------------------------------------------------------------------------------


class ArticleForm(forms.Form):
    title = forms.CharField(label="标题", max_length=services.TITLE_MAX)
    subject = forms.ChoiceField(label="主题分类")
    form = forms.ChoiceField(label="知识形式", required=False)
    keywords = forms.CharField(
        label="关键词",
        max_length=services.KEYWORDS_MAX,
        required=False,
        help_text="多个关键词用逗号或顿号分隔，可含群众的口语说法（如“医保”）",
    )
    body = forms.CharField(
        label="正文",
        max_length=services.BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 14, "class": "kb-body-source"}),
    )
    effective_from = forms.DateField(label="生效日期", required=False, widget=DateInput())
    expires_on = forms.DateField(
        label="失效日期",
        required=False,
        widget=DateInput(),
        help_text="过了失效日期，知识在列表中标为“已失效”，坐席检索不到",
    )
    related = forms.CharField(
        label="相关知识",
        required=False,
        max_length=200,
        help_text="填写相关知识的编号，用逗号分隔（编号见知识采编列表）",
    )
    note = forms.CharField(label="修改说明", max_length=services.NOTE_MAX, required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput())

    def __init__(self, *args, viewer=None, article=None, **kwargs):
        super().__init__(*args, **kwargs)
        include = article.subject if article is not None else None
        self.fields["subject"].choices = [("", "请选择主题分类")] + selectors.subject_choices(
            viewer, include=include
        )
        self.fields["form"].choices = [("", "（不选）"), *selectors.form_choices()]
        _chinese_errors(self)
        self.fields["note"].widget.attrs["placeholder"] = "本次修改了什么（记入版本记录）"
        self.fields["related"].widget.attrs["placeholder"] = "如：12, 35"

    def clean_related(self):
        raw = self.cleaned_data.get("related", "")
        ids = []
        for piece in raw.replace("，", ",").replace("、", ",").replace(" ", ",").split(","):
            piece = piece.strip()
            if not piece:
                continue
            if not piece.isdigit():
                raise forms.ValidationError("相关知识须填写编号（数字），用逗号分隔")
            ids.append(int(piece))
        return ids

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "subject": Category.objects.filter(pk=data["subject"]).first(),
            "form": Category.objects.filter(pk=data["form"]).first() if data["form"] else None,
            "keywords": data["keywords"],
            "body": data["body"],
            "effective_from": data["effective_from"],
            "expires_on": data["expires_on"],
            "related": data["related"],
        }


def _initial(article: Article) -> dict:
    return {
        "title": article.title,
        "subject": str(article.subject_id),
        "form": str(article.form_id or ""),
        "keywords": "，".join(article.keyword_list),
        "body": article.body,
        "effective_from": article.effective_from,
        "expires_on": article.expires_on,
        "related": ", ".join(str(pk) for pk in article.related.values_list("pk", flat=True)),
        "version": article.version,
    }


def _editor_context(request, form, article=None) -> dict:
    return {
        "form": form,
        "article": article,
        "allowed_tags": " ".join(sorted(ALLOWED_TAGS)),
        "image_upload_url": reverse("kb_image_upload"),
    }


@pages.requires(EDIT)
@require_http_methods(["GET", "POST"])
def article_create(request):
    status = 200
    if request.method == "POST":
        form = ArticleForm(request.POST, viewer=request.user)
        if form.is_valid():
            ok, article = pages.attempt(
                request,
                lambda: services.article_create(
                    actor=request.user, note=form.cleaned_data["note"], **form.service_fields()
                ),
                form=form,
            )
            if ok:
                messages.success(request, f"已保存为草稿（第 1 版）：{article.title}")
                return redirect("kb_article", pk=article.pk)
        status = 400
    else:
        initial = {}
        subject = request.GET.get("subject", "")
        if subject.isdigit():
            initial["subject"] = subject
        form = ArticleForm(initial=initial, viewer=request.user)
    return render(
        request, "knowledge/authoring/editor.html", _editor_context(request, form), status=status
    )


@pages.requires(EDIT, REVIEW)
@require_http_methods(["GET", "POST"])
def article_page(request, pk):
    """One article: the editor while it is a draft, else its text with the moves."""
    article = _article(request, pk)
    status = 200
    editable = article.state == ArticleState.DRAFT and request.user.can(EDIT)
    if request.method == "POST":
        if not editable:
            messages.error(request, "只有草稿可以修改；已发布的知识请先“修订”")
            return redirect("kb_article", pk=article.pk)
        form = ArticleForm(request.POST, viewer=request.user, article=article)
        if form.is_valid():
            before = article.version
            ok, saved = pages.attempt(
                request,
                lambda: services.article_update(
                    actor=request.user,
                    article=article,
                    note=form.cleaned_data["note"],
                    expected_version=form.cleaned_data["version"],
                    **form.service_fields(),
                ),
                form=form,
            )
            if ok:
                if saved.version == before:
                    messages.info(request, "没有修改，未生成新版本")
                else:
                    messages.success(request, f"已保存为第 {saved.version} 版")
                return redirect("kb_article", pk=article.pk)
        status = 400
    else:
        form = ArticleForm(initial=_initial(article), viewer=request.user, article=article)
    today = timezone.localdate()
    _annotate([article], today)
    attachments = list(article.attachments.all())
    for attachment in attachments:
        attachment.reason = services.attachment_reason(attachment)
    moves = [
        {"code": code, "label": m.label, "css": MOVE_STYLE.get(code, "btn-outline-secondary")}
        for code, m in ARTICLE_MOVES.items()
        if article.state in m.sources and request.user.can(m.permission)
    ]
    context = {
        **_editor_context(request, form, article),
        "editable": editable,
        "moves": moves,
        "can_reject": any(m["code"] == "reject" for m in moves),
        "attachments": attachments,
        "attachment_types": ", ".join(f".{e}" for e in sorted(services.ATTACHMENT_TYPES)),
        "related": article.related.order_by("title"),
        "history": _history(article),
        "last_version": article.versions.select_related("saved_by").first(),
    }
    return render(request, "knowledge/authoring/article.html", context, status=status)


def _history(article: Article) -> list:
    entries = selectors.article_history(article, limit=20)
    for entry in entries:
        entry.action_label = action_label(entry.action)
    return entries


def _article(request, pk) -> Article:
    ok, article = pages.attempt(request, lambda: selectors.article_for(request.user, pk))
    return article


@pages.requires(EDIT, REVIEW)
@require_POST
def article_move(request, pk, move):
    article = _article(request, pk)
    if move not in ARTICLE_MOVES:
        raise Http404("未知的操作")
    spec = ARTICLE_MOVES[move]
    pages.attempt(
        request,
        lambda: services.article_move(
            actor=request.user, article=article, move=move, note=request.POST.get("note", "")
        ),
        success=f"已{spec.label}：{article.title}",
    )
    return redirect(_safe_next(request, reverse("kb_article", args=[article.pk])))


# --- versions --------------------------------------------------------------------------------


@pages.requires(EDIT, REVIEW)
def article_versions(request, pk):
    article = _article(request, pk)
    versions = selectors.versions(article)
    diff = None
    if len(versions) > 1:
        newest, previous = versions[0].number, versions[1].number
        a = request.GET.get("a") or previous
        b = request.GET.get("b") or newest
        old = pages.attempt(request, lambda: selectors.version_of(article, a))[1]
        new = pages.attempt(request, lambda: selectors.version_of(article, b))[1]
        diff = selectors.version_diff(old, new)
    _annotate([article], timezone.localdate())
    return render(
        request,
        "knowledge/authoring/versions.html",
        {
            "article": article,
            "versions": versions,
            "diff": diff,
            "can_rollback": request.user.can(EDIT),
        },
    )


@pages.requires(EDIT)
@require_POST
def article_rollback(request, pk, number):
    article = _article(request, pk)
    ok, saved = pages.attempt(
        request,
        lambda: services.article_rollback(actor=request.user, article=article, number=number),
    )
    if ok:
        messages.success(
            request,
            f"已回滚到第 {number} 版的内容，保存为第 {saved.version} 版（草稿，需重新审核）",
        )
        return redirect("kb_article", pk=article.pk)
    return redirect("kb_article_versions", pk=article.pk)


# --- attachments and images -------------------------------------------------------------------


@pages.requires(EDIT)
@require_POST
def attachment_add(request, pk):
    article = _article(request, pk)
    uploads = request.FILES.getlist("file")
    if not uploads:
        messages.error(request, "请选择要上传的附件")
    for upload in uploads:
        ok, attachment = pages.attempt(
            request,
            lambda upload=upload: services.attachment_add(
                actor=request.user, article=article, upload=upload
            ),
        )
        if ok:
            reason = services.attachment_reason(attachment)
            if reason:
                messages.warning(request, f"已上传附件“{attachment.name}”，{reason}")
            else:
                messages.success(
                    request,
                    f"已上传附件“{attachment.name}”，提取文字 {len(attachment.text)} 字，可被检索",
                )
    return redirect(reverse("kb_article", args=[article.pk]) + "#attachments")


@pages.requires(EDIT, REVIEW)
def attachment_download(request, pk, attachment_id):
    article = _article(request, pk)
    attachment = article.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("附件不存在")
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise Http404("附件文件已丢失") from None
    ext = attachment.name.rsplit(".", 1)[-1].lower() if "." in attachment.name else ""
    return FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.name,
        content_type=services.ATTACHMENT_TYPES.get(ext, "application/octet-stream"),
    )


@pages.requires(EDIT)
@require_POST
def attachment_remove(request, pk, attachment_id):
    article = _article(request, pk)
    attachment = article.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("附件不存在")
    pages.attempt(
        request,
        lambda: services.attachment_remove(
            actor=request.user, article=article, attachment=attachment
        ),
        success=f"已删除附件“{attachment.name}”",
    )
    return redirect(reverse("kb_article", args=[article.pk]) + "#attachments")


@pages.requires(EDIT)
@require_POST
def image_upload(request):
    """The editor's image button: JSON {"url"} or {"detail"} with a 4xx."""
    upload = request.FILES.get("image")
    if upload is None:
        return JsonResponse({"detail": "请选择图片"}, status=422)
    try:
        url = services.image_store(actor=request.user, upload=upload)
    except HotlineError as error:
        return JsonResponse({"detail": error.message}, status=error.status)
    return JsonResponse({"url": url}, status=201)


@pages.requires("kb.view", EDIT)
def image(request, year, month, name):
    path = services.image_path(f"/kb/images/{year}/{month}/{name}")
    if path is None or not default_storage.exists(path):
        raise Http404("图片不存在")
    content_type = "image/png" if name.endswith(".png") else "image/jpeg"
    response = FileResponse(default_storage.open(path, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response


# --- import ----------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(label="导入文件（.xlsx）")
    publish = forms.BooleanField(label="导入后直接发布（需审核权限）", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _chinese_errors(self)
        self.fields["file"].error_messages["required"] = "请选择要导入的 xlsx 文件"


@pages.requires(EDIT)
@require_http_methods(["GET", "POST"])
def article_import(request):
    report = None
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            ok, report = pages.attempt(
                request,
                lambda: services.articles_import(
                    actor=request.user,
                    upload=form.cleaned_data["file"],
                    publish=form.cleaned_data["publish"],
                ),
                form=form,
            )
            if ok:
                level = messages.success if not report.errors else messages.warning
                outcome = "并发布" if report.published else "为草稿"
                level(
                    request,
                    f"共 {report.rows} 行：导入{outcome} {len(report.created)} 条，"
                    f"有错误未导入 {len(report.errors)} 行",
                )
            else:
                status = 400
        else:
            status = 400
    else:
        form = ImportForm()
    return render(
        request,
        "knowledge/authoring/import.html",
        {
            "form": form,
            "report": report,
            "headers": selectors.IMPORT_HEADERS,
            "can_publish": request.user.can(REVIEW),
        },
        status=status,
    )


@pages.requires(EDIT)
def import_template(request):
    response = HttpResponse(
        selectors.import_template(request.user),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote('知识导入模板.xlsx')}"
    return response


# --- categories -------------------------------------------------------------------------------


class CategoryForm(forms.Form):
    dimension = forms.ChoiceField(label="维度", choices=Dimension.choices)
    parent = forms.ChoiceField(label="上级分类", required=False)
    code = forms.CharField(label="分类编码", max_length=20)
    name = forms.CharField(label="分类名称", max_length=category_services.NAME_MAX)
    owner_unit = forms.ChoiceField(label="维护单位", required=False)
    sort = forms.IntegerField(label="排序", min_value=0, required=False, initial=0)

    def __init__(self, *args, viewer=None, dimension=Dimension.SUBJECT, **kwargs):
        super().__init__(*args, **kwargs)
        rows = selectors.tree(viewer, dimension)
        top = [] if selectors.unit_of(viewer) is not None else [("", "（顶级）")]
        self.fields["parent"].choices = top + [
            (str(r.node.pk), "　" * r.depth + r.node.name) for r in rows if r.node.is_active
        ]
        self.fields["owner_unit"].choices = unit_choices(viewer, blank="（同上级分类）")
        _chinese_errors(self)


def unit_choices(viewer, *, blank: str) -> list:
    scope = scope_of(viewer)
    units = HandlingUnit.objects.filter(is_active=True).select_related("platform")
    if scope.unit_id is not None:
        units = units.filter(pk=scope.unit_id)
    else:
        units = units.filter(platform_id__in=scope.platform_ids)
    return [("", blank)] + [(str(u.pk), u.name) for u in units.order_by("platform__path", "code")]


def _dimension(request) -> str:
    value = request.GET.get("dimension") or request.POST.get("dimension") or Dimension.SUBJECT
    return value if value in Dimension.values else Dimension.SUBJECT


@pages.requires(MANAGE, EDIT)
@require_http_methods(["GET", "POST"])
def category_list(request):
    dimension = _dimension(request)
    status = 200
    if request.method == "POST":
        form = CategoryForm(request.POST, viewer=request.user, dimension=dimension)
        if form.is_valid():
            data = form.cleaned_data
            parent = Category.objects.filter(pk=data["parent"]).first() if data["parent"] else None
            extra = {}
            if data["owner_unit"]:
                extra["owner_unit"] = HandlingUnit.objects.filter(pk=data["owner_unit"]).first()
            ok, node = pages.attempt(
                request,
                lambda: category_services.category_create(
                    actor=request.user,
                    dimension=dimension,
                    code=data["code"],
                    name=data["name"],
                    parent=parent,
                    sort=data["sort"] or 0,
                    **extra,
                ),
                form=form,
            )
            if ok:
                messages.success(request, f"已新增分类“{node.name}”")
                return redirect(f"{reverse('kb_categories')}?dimension={dimension}")
        status = 400
    else:
        initial = {"dimension": dimension}
        if request.GET.get("parent", "").isdigit():
            initial["parent"] = request.GET["parent"]
        form = CategoryForm(initial=initial, viewer=request.user, dimension=dimension)
    return render(
        request,
        "knowledge/authoring/categories.html",
        {
            "form": form,
            "dimension": dimension,
            "dimensions": Dimension.choices,
            "rows": selectors.tree(request.user, dimension),
            "can_manage": request.user.can(MANAGE),
            "unit_scoped": selectors.unit_of(request.user) is not None,
        },
        status=status,
    )


class CategoryEditForm(forms.Form):
    name = forms.CharField(label="分类名称", max_length=category_services.NAME_MAX)
    sort = forms.IntegerField(label="排序", min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _chinese_errors(self)


@pages.requires(MANAGE)
@require_http_methods(["GET", "POST"])
def category_edit(request, pk):
    node = Category.objects.select_related("owner_unit", "parent").filter(pk=pk).first()
    if node is None or not selectors.category_manageable(request.user, node):
        raise Http404("分类不存在或不在您的管辖范围内")
    status = 200
    form = CategoryEditForm(initial={"name": node.name, "sort": node.sort})
    back = f"{reverse('kb_categories')}?dimension={node.dimension}"
    if request.method == "POST":
        op = request.POST.get("op", "")
        if op == "rename":
            form = CategoryEditForm(request.POST)
            if form.is_valid():
                ok, _ = pages.attempt(
                    request,
                    lambda: category_services.category_update(
                        actor=request.user, category=node, **form.cleaned_data
                    ),
                    form=form,
                    success="已保存",
                )
                if ok:
                    return redirect(back)
            status = 400
        elif op == "move":
            target = request.POST.get("parent", "")
            parent = Category.objects.filter(pk=target).first() if target.isdigit() else None
            ok, _ = pages.attempt(
                request,
                lambda: category_services.category_move(
                    actor=request.user, category=node, parent=parent
                ),
                success="已移动",
            )
            if ok:
                return redirect(back)
            status = 400
        elif op == "owner":
            value = request.POST.get("owner_unit", "")
            unit = HandlingUnit.objects.filter(pk=value).first() if value.isdigit() else None
            ok, _ = pages.attempt(
                request,
                lambda: category_services.category_set_owner(
                    actor=request.user, category=node, unit=unit
                ),
                success="已指定维护单位（含全部下级分类）",
            )
            if ok:
                return redirect(back)
            status = 400
        elif op in ("enable", "disable"):
            ok, _ = pages.attempt(
                request,
                lambda: category_services.category_set_active(
                    actor=request.user, category=node, active=op == "enable"
                ),
                success="已启用" if op == "enable" else "已停用（含全部下级分类）",
            )
            if ok:
                return redirect(back)
            status = 400
        else:
            raise Http404("未知的操作")
        node.refresh_from_db()
    below = selectors.subtree_ids(node)
    parents = [
        r
        for r in selectors.tree(request.user, node.dimension)
        if r.node.pk not in below and r.node.is_active
    ]
    return render(
        request,
        "knowledge/authoring/category_edit.html",
        {
            "node": node,
            "form": form,
            "parents": parents,
            "units": unit_choices(request.user, blank="（不指定，由平台维护）"),
            "unit_scoped": selectors.unit_of(request.user) is not None,
            "path": selectors.path_names(node.dimension).get(node.pk, node.name),
            "back": back,
        },
        status=status,
    )
