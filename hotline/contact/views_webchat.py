"""网页在线咨询: the citizen's chat page, its upload door, the link to a message's file, and
a mock government site that embeds the widget.

A citizen has no account and no session cookie: the signed visitor token the page is given
(:func:`.connectors.webchat.visitor_token`) is the credential of the socket and of the
upload, so the upload is CSRF-exempt and checks the token and the request's origin
instead. The page may be framed (the widget, ``?embed=1``) only by the hotline itself and
the sites named in the entry's ``settings["allowed_origins"]``.
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import FileResponse, Http404, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from hotline.core import audit
from hotline.core.errors import HotlineError
from hotline.workorders.services import ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES

from . import services
from .connectors import Inbound, Unverified
from .connectors import webchat as connector
from .models import SATISFACTION, ChannelEntry, Message
from .selectors import webchat_entry

IMAGE_TYPES = ("jpg", "jpeg", "png")
# A page's origin as it may be named in ``allowed_origins``: scheme, host (a leading "*."
# for every subdomain, as CSP allows), optional port. Anything else is ignored, so that a
# typo in the settings cannot inject into the Content-Security-Policy header.
ORIGIN_PATTERN = re.compile(r"^https?://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$")
TOKEN_HEADER = "X-Webchat-Token"
UPLOAD_LIMIT, UPLOAD_WINDOW = 10, 60  # a visitor's uploads per minute (the socket has its own)


def allowed_origins(entry: ChannelEntry) -> list[str]:
    """The sites that may embed this entry (``settings["allowed_origins"]``: a list, or
    one string separated by spaces or commas), normalised; malformed ones are dropped."""
    raw = (entry.settings or {}).get("allowed_origins") or []
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    origins = []
    for item in raw if isinstance(raw, list | tuple) else []:
        origin = str(item).strip().rstrip("/").lower()
        if ORIGIN_PATTERN.match(origin) and origin not in origins:
            origins.append(origin)
    return origins


def _origin_matches(origin: str, allowed: str) -> bool:
    if "://*." not in allowed:
        return origin == allowed
    scheme, _, pattern = allowed.partition("://*.")
    host_port = origin.removeprefix(f"{scheme}://")
    return host_port != origin and host_port.endswith("." + pattern)


def _request_origin(request) -> str:
    """The calling page's origin: the Origin header, else the Referer's."""
    origin = request.headers.get("Origin", "")
    if origin and origin != "null":
        return origin.lower().rstrip("/")
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.scheme and referer.netloc:
        return f"{referer.scheme}://{referer.netloc}".lower()
    return ""


def _origin_allowed(request, entry: ChannelEntry) -> bool:
    origin = _request_origin(request)
    if not origin:
        return False
    own = {f"{request.scheme}://{request.get_host()}".lower()}
    site = urlsplit(settings.HOTLINE_SITE_URL)
    if site.scheme and site.netloc:  # behind a TLS proxy the request itself may say http
        own.add(f"{site.scheme}://{site.netloc}".lower())
    return origin in own or any(_origin_matches(origin, a) for a in allowed_origins(entry))


def _too_many_uploads(entry: ChannelEntry, visitor: str) -> bool:
    key = f"webchat.upload.{entry.pk}.{visitor}"
    cache.add(key, 0, UPLOAD_WINDOW)
    try:
        return cache.incr(key) > UPLOAD_LIMIT
    except ValueError:  # the window ran out between the two calls
        cache.set(key, 1, UPLOAD_WINDOW)
        return False


def _refuse(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


# --- the citizen's page ----------------------------------------------------------------------


@require_GET
@never_cache
@xframe_options_exempt
def webchat_page(request, platform, entry):
    """The chat page (``?embed=1``: inside the widget's frame, without the outer card)."""
    found = webchat_entry(platform, entry)
    if found is None:
        return _not_found(request)
    embed = request.GET.get("embed") == "1"
    response = render(
        request,
        "contact/webchat/page.html",
        {
            "entry": found,
            "platform": found.platform,
            "embed": embed,
            "token": connector.visitor_token(found),
            "socket_path": f"/ws/chat/{found.platform.code}/{found.code}/",
            "upload_url": reverse("webchat_upload", args=[found.platform.code, found.code]),
            "levels": SATISFACTION,
            "max_upload_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024),
            "accept": ",".join(f".{ext}" for ext in ATTACHMENT_TYPES),
            "time_zone": settings.TIME_ZONE,
        },
    )
    # The widget frames the page: the hotline itself and the entry's sites may, nobody else.
    response.frame_ancestors = ["'self'", *allowed_origins(found)]
    return response


def _not_found(request):
    return render(
        request,
        "contact/webchat/not_found.html",
        {"platform_name": settings.HOTLINE_PLATFORM_NAME},
        status=404,
    )


# --- upload: an image or a file from the citizen --------------------------------------------------


@csrf_exempt  # no session cookie to ride on: the signed token and the origin check stand guard
@require_POST
def webchat_upload(request, platform, entry):
    found = webchat_entry(platform, entry)
    if found is None:
        return _refuse("咨询入口不存在或已停用", 404)
    if not _origin_allowed(request, found):
        return _refuse("请求来源不被允许", 403)
    # Refuse an oversized body before reading it (the rule itself: attachment_check).
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_ATTACHMENT_BYTES + 64 * 1024:
        return _refuse(f"文件超过 {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB，无法发送", 413)
    try:
        token = request.headers.get(TOKEN_HEADER) or request.POST.get("t", "")
        upload = request.FILES.get("file")
    except (MultiPartParserError, RequestDataTooBig, SuspiciousOperation):
        return _refuse("上传内容格式不正确", 400)
    try:
        visitor = connector.verify(found, token)
    except Unverified as error:
        return _refuse(error.message, error.status)
    if upload is None:
        return _refuse("请选择要发送的图片或文件", 400)
    if _too_many_uploads(found, visitor):
        return _refuse("发送过于频繁，请稍后再试", 429)
    name = str(upload.name or "")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    inbound = Inbound(
        address=visitor, kind="image" if ext in IMAGE_TYPES else "file", attachment=upload
    )
    try:
        # a citizen, not the anonymous web: keep the request's address and id
        here = audit.current_origin()
        with audit.origin(channel="webchat", ip=here.ip, request_id=here.request_id):
            services.inbound_receive(entry=found, inbound=inbound)
    except HotlineError as error:
        return _refuse(error.message, error.status)
    return JsonResponse({"ok": True})


# --- the link to a message's file -----------------------------------------------------------------


@require_GET
def webchat_file(request, signed):
    """A chat message's image (shown) or file (downloaded), by the unguessable link the
    citizen's page was given (:func:`.connectors.webchat.file_url`)."""
    message_id = connector.file_message_id(signed)
    message = (
        Message.objects.filter(pk=message_id, session__channel="webchat").only("attachment").first()
        if message_id is not None
        else None
    )
    if message is None or not message.attachment:
        raise Http404("文件不存在或链接已失效")
    try:
        handle = message.attachment.open("rb")
    except OSError:
        raise Http404("文件已丢失") from None
    name = message.attachment.name.rsplit("/", 1)[-1]
    inline = name.lower().endswith(tuple(f".{ext}" for ext in IMAGE_TYPES))
    response = FileResponse(handle, as_attachment=not inline, filename=name)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- a mock government site that embeds the widget ------------------------------------------------


@require_GET
def webchat_demo_site(request, platform, entry):
    """示例网站: how a government site looks with the widget added (one script tag)."""
    found = webchat_entry(platform, entry)
    if found is None:
        return _not_found(request)
    return render(
        request,
        "contact/webchat/demo_site.html",
        {
            "entry": found,
            "platform": found.platform,
            "entry_ref": f"{found.platform.code}/{found.code}",
            "origin": f"{request.scheme}://{request.get_host()}",
        },
    )
