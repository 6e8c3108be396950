"""The citizen's side of a group (游客): ``/g/<invite token>/``.

A citizen opens the link the agent shared. While the link may be used (not revoked, not
expired, the group open) the page asks for a nickname; joining sets a cookie holding the
signed guest token (:mod:`.tokens`), and the page — mobile first, like the web chat's —
opens the socket ``/ws/g/?t=<guest token>``. A citizen who has joined comes back through
the same link even after it was revoked (revoking stops new joins, removing a member
stops that member). Images go up with the guest token in a header, CSRF-checked like
any form of the site.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import FileResponse, Http404, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hotline.core import audit
from hotline.core.errors import HotlineError
from hotline.workorders.services import MAX_ATTACHMENT_BYTES

from . import selectors, services, tokens
from .forms import JoinForm
from .models import GroupMessage

TOKEN_HEADER = "X-Group-Token"


def _returning_guest(request, token: str):
    """The member this browser already is in the link's group, if any."""
    claim = tokens.read_invite(token)
    if claim is None:
        return None
    member = selectors.guest_of(request.COOKIES.get(tokens.guest_cookie(claim[0]), ""))
    return member if member is not None and member.group_id == claim[0] else None


def _refused(request, message: str, status: int):
    return render(
        request,
        "groups/guest_refused.html",
        {"message": message, "platform_name": settings.HOTLINE_PLATFORM_NAME},
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def guest_page(request, token):
    member = _returning_guest(request, token)
    if member is not None:
        return _chat(request, member)
    try:
        invite = services.invite_check(token)
    except HotlineError as error:
        return _refused(request, error.message, error.status)
    form = JoinForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                here = audit.current_origin()
                with audit.origin(channel="groups", ip=here.ip, request_id=here.request_id):
                    member = services.guest_join(
                        token=token, nickname=form.cleaned_data["nickname"]
                    )
            except HotlineError as error:
                if error.status == 403:
                    return _refused(request, error.message, error.status)
                form.add_error("nickname", error.message)
            else:
                response = redirect("group_guest", token)
                response.set_cookie(
                    tokens.guest_cookie(member.group_id),
                    tokens.guest_token(member),
                    max_age=tokens.GUEST_MAX_AGE,
                    httponly=True,
                    samesite="Lax",
                    secure=settings.SESSION_COOKIE_SECURE,
                )
                return response
        status = 400
    return render(
        request,
        "groups/guest_join.html",
        {"group": invite.group, "platform": invite.group.platform, "form": form},
        status=status,
    )


def _chat(request, member):
    group = member.group
    return render(
        request,
        "groups/guest_chat.html",
        {
            "group": group,
            "platform": group.platform,
            "member": member,
            "guest_token": tokens.guest_token(member),
            "upload_url": reverse("group_guest_upload"),
            "max_upload_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024),
            "time_zone": settings.TIME_ZONE,
        },
    )


def _refuse(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


@require_POST
def guest_upload(request):
    """A citizen's image (jpg/png), by the guest token in ``X-Group-Token``."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_ATTACHMENT_BYTES + 64 * 1024:
        return _refuse(f"图片超过 {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB，无法发送", 413)
    try:
        upload = request.FILES.get("file")
    except (MultiPartParserError, RequestDataTooBig, SuspiciousOperation):
        return _refuse("上传内容格式不正确", 400)
    member = selectors.guest_of(request.headers.get(TOKEN_HEADER, ""))
    if member is None:
        return _refuse("您已不在群组中或凭证已失效，请重新打开邀请链接", 403)
    if upload is None:
        return _refuse("请选择要发送的图片", 400)
    try:
        message = services.message_post(member=member, attachment=upload)
    except HotlineError as error:
        return _refuse(error.message, error.status)
    return JsonResponse({"id": message.pk}, status=201)


@require_GET
def group_file(request, signed):
    """A message's image by its unguessable link (:func:`.tokens.file_url`)."""
    message_id = tokens.file_message_id(signed)
    message = (
        GroupMessage.objects.filter(pk=message_id).only("attachment").first()
        if message_id is not None
        else None
    )
    if message is None or not message.attachment:
        raise Http404("图片不存在或链接已失效")
    try:
        handle = message.attachment.open("rb")
    except OSError:
        raise Http404("图片已丢失") from None
    response = FileResponse(handle, filename=message.attachment.name.rsplit("/", 1)[-1])
    response["Cache-Control"] = "private, max-age=3600"
    return response
