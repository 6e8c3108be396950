"""Pages of 知识检索: the search page, the reading page (知识阅读: counts a click, rating,
favourite, 纠错), 我的收藏, and the compact agent panel (坐席知识面板, an HTML fragment the
agent workbench embeds with htmx). Reads through selectors.search, writes through
services.usage."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from hotline.core.errors import Forbidden, HotlineError, NotFound
from hotline.web import pages

from ..engine import FIELDS
from ..selectors import articles as article_selectors
from ..selectors import search as selectors
from ..services import articles as article_services
from ..services import usage as services

PER_PAGE = 10
PANEL_SIZE = 5
OPENED_KEY, OPENED_KEEP = "kb_opened", 300  # articles opened in this session


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _query_string(params: dict) -> str:
    pairs = []
    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            pairs += [(key, v) for v in value if v not in (None, "")]
        elif value is True:
            pairs.append((key, "1"))
        elif value not in (None, "", False):
            pairs.append((key, value))
    return urlencode(pairs)


def _params(request) -> dict:
    """The search form's values; "在结果中检索" moves the previous query into ``within``."""
    get = request.GET
    within = [w for w in get.getlist("within") if w.strip()]
    q = get.get("q", "").strip()
    if get.get("narrow") and get.get("prev", "").strip():
        within.append(get["prev"].strip())
    chosen = [f for f in get.getlist("fields") if f]
    return {
        "q": q,
        "mode": get.get("mode") or "fuzzy",
        "sort": get.get("sort") or "relevance",
        "fields": chosen,
        "category": get.get("category", ""),
        "form": get.get("form", ""),
        "within": within,
        "drafts": get.get("drafts") == "1",
    }


def _safe_back(request) -> str:
    target = request.GET.get("back") or request.POST.get("back") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return ""


@pages.requires("kb.view", "kb.edit")
@require_GET
def search_page(request):
    """知识检索: the search box with suggestions, filters, facets, results with highlighted
    snippets, pagination, search within results, related keywords, hot articles."""
    params = _params(request)
    if request.GET.get("narrow"):  # keep one canonical address (pages, facets, back links)
        return redirect(f"{reverse('kb_search')}?{_query_string(params)}")
    page_number = max(1, _int(request.GET.get("page"), 1))
    hot_days = 30 if request.GET.get("hot") == "30" else 7
    result, error = None, ""
    asked = bool(params["q"] or params["category"] or params["form"] or params["within"])
    try:
        if asked:
            result = selectors.search(
                request.user,
                **params,
                limit=PER_PAGE,
                offset=(page_number - 1) * PER_PAGE,
            )
            if page_number == 1:
                services.search_logged(
                    actor=request.user, query=result.logged_query, results=result.total
                )
        hot = selectors.hot_articles(request.user, days=hot_days, limit=10)
    except Forbidden as refused:
        raise PermissionDenied(refused.message) from None
    except HotlineError as refused:
        error, hot = refused.message, []
    pages_total = (result.total + PER_PAGE - 1) // PER_PAGE if result else 0
    context = {
        "params": params,
        "result": result,
        "error": error,
        "hot": hot,
        "hot_days": hot_days,
        "page_number": page_number,
        "pages_total": pages_total,
        "page_links": _page_links(page_number, pages_total),
        "fields": [(code, selectors.FIELD_LABELS[code]) for code in FIELDS],
        "chosen_fields": params["fields"] or list(FIELDS),
        "modes": selectors.MODE_LABELS.items(),
        "sorts": selectors.SORT_LABELS.items(),
        "may_drafts": selectors.may_search_drafts(request.user),
        "back": request.get_full_path(),
    }
    return render(request, "knowledge/search/page.html", context, status=422 if error else 200)


def _page_links(current: int, total: int) -> list[int | None]:
    """Page numbers to show: the first, the last and two around the current (None: …)."""
    shown = sorted({1, total, *range(current - 2, current + 3)} & set(range(1, total + 1)))
    links, last = [], 0
    for number in shown:
        if number - last > 1:
            links.append(None)
        links.append(number)
        last = number
    return links


@pages.requires("kb.view", "kb.edit")
@require_GET
def panel(request):
    """坐席知识面板: a compact fragment (search box + the 5 best answers with snippets and
    an "open" link) for the agent workbench to embed: ``hx-get="/kb/panel/?q=…"``."""
    q = request.GET.get("q", "").strip()
    result, error = None, ""
    if q:
        try:
            result = selectors.search(request.user, q=q, limit=PANEL_SIZE)
            services.search_logged(
                actor=request.user, query=result.logged_query, results=result.total
            )
        except Forbidden as refused:
            raise PermissionDenied(refused.message) from None
        except HotlineError as refused:
            error = refused.message
    return render(
        request,
        "knowledge/_panel.html",
        {"q": q, "result": result, "error": error},
        status=422 if error else 200,
    )


@pages.requires("kb.view", "kb.edit")
@require_GET
def article_read(request, pk: int):
    """知识阅读: the body, attachments, related articles, rating, favourites and 纠错.
    Opening a published article counts a click (once per session)."""
    article = _readable(request, pk)
    if request.user.can("kb.view") and _first_opening(request, article.pk):
        services.article_click(actor=request.user, article=article)
    folders = selectors.folders_of(request.user)
    context = {
        "article": article,
        "attachments": list(article.attachments.all()),
        "related": selectors.related_articles(request.user, article),
        "my_rating": selectors.rating_of(request.user, article),
        "ratings": selectors.ratings_of(article),
        "spread": selectors.rating_spread(article),
        "folders": folders,
        "holding": selectors.folders_holding(request.user, article),
        "agent_visible": selectors.agent_visible(request.user, article),
        "expired": article.is_expired(),
        "may_edit": article_selectors.article_in_scope(request.user, article),
        "back": _safe_back(request),
        "scores": [5, 4, 3, 2, 1],
    }
    return render(request, "knowledge/search/article.html", context)


def _first_opening(request, pk: int) -> bool:
    """One click per article and sign-in session: coming back to the page after rating or
    favouriting it, or reloading it, is the same opening."""
    opened = request.session.get(OPENED_KEY, [])
    if pk in opened:
        return False
    request.session[OPENED_KEY] = (opened + [pk])[-OPENED_KEEP:]
    return True


def _readable(request, pk):
    try:
        return selectors.article_for_reading(request.user, pk)
    except NotFound as missing:
        raise Http404(missing.message) from None


def _back_to_article(request, article) -> str:
    url = reverse("kb_read", args=[article.pk])
    back = _safe_back(request)
    return f"{url}?{urlencode({'back': back})}" if back else url


@pages.requires("kb.view")
@require_POST
def article_rate(request, pk: int):
    article = _readable(request, pk)
    pages.attempt(
        request,
        lambda: services.article_rate(
            actor=request.user,
            article=article,
            score=request.POST.get("score"),
            comment=request.POST.get("comment", ""),
        ),
        success="感谢评价",
    )
    return redirect(_back_to_article(request, article) + "#rating")


@pages.requires("kb.view")
@require_POST
def article_favorite(request, pk: int):
    """收藏 into a chosen folder, a new folder (named in the form) or the default one."""
    article = _readable(request, pk)

    def add():
        name = request.POST.get("new_folder", "").strip()
        folder_id = request.POST.get("folder", "")
        if name:
            folder = services.folder_create(actor=request.user, name=name)
        elif folder_id:
            folder = selectors.folder_of(request.user, folder_id)
        else:
            folder = None
        return services.favorite_add(actor=request.user, article=article, folder=folder)

    ok, folder = pages.attempt(request, add)
    if ok:
        messages.success(request, f"已收藏到“{folder.name}”")
    return redirect(_back_to_article(request, article))


@pages.requires("kb.view", "kb.edit")
@require_GET
def attachment(request, pk: int, attachment_id: int):
    """An attachment of an article this person may read."""
    article = _readable(request, pk)
    found = article.attachments.filter(pk=attachment_id).first()
    if found is None:
        raise Http404("附件不存在")
    try:
        handle = found.file.open("rb")
    except OSError:
        raise Http404("附件文件已丢失") from None
    ext = found.name.rsplit(".", 1)[-1].lower() if "." in found.name else ""
    return FileResponse(
        handle,
        as_attachment=True,
        filename=found.name,
        content_type=article_services.ATTACHMENT_TYPES.get(ext, "application/octet-stream"),
    )


# --- 我的收藏 ----------------------------------------------------------------------------------


@pages.requires("kb.view")
@require_GET
def favorites(request):
    return render(
        request,
        "knowledge/search/favorites.html",
        {"folders": selectors.favorites(request.user)},
    )


@pages.requires("kb.view")
@require_POST
def folder_create(request):
    pages.attempt(
        request,
        lambda: services.folder_create(actor=request.user, name=request.POST.get("name", "")),
        success="收藏夹已建立",
    )
    return redirect("kb_favorites")


@pages.requires("kb.view")
@require_POST
def folder_rename(request, pk: int):
    folder = _folder(request, pk)
    pages.attempt(
        request,
        lambda: services.folder_rename(
            actor=request.user, folder=folder, name=request.POST.get("name", "")
        ),
        success="已重命名",
    )
    return redirect(reverse("kb_favorites") + f"#folder-{folder.pk}")


@pages.requires("kb.view")
@require_POST
def folder_delete(request, pk: int):
    folder = _folder(request, pk)
    pages.attempt(
        request,
        lambda: services.folder_delete(actor=request.user, folder=folder),
        success=f"收藏夹“{folder.name}”已删除",
    )
    return redirect("kb_favorites")


@pages.requires("kb.view")
@require_POST
def favorite_remove(request, pk: int, article_id: int):
    folder = _folder(request, pk)
    article = folder.articles.filter(pk=article_id).first()
    if article is None:
        raise Http404("该收藏夹中没有这条知识")
    pages.attempt(
        request,
        lambda: services.favorite_remove(actor=request.user, folder=folder, article=article),
        success="已取消收藏",
    )
    return redirect(reverse("kb_favorites") + f"#folder-{folder.pk}")


def _folder(request, pk):
    try:
        return selectors.folder_of(request.user, pk)
    except NotFound as missing:
        raise Http404(missing.message) from None
