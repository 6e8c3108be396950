"""监控大屏 page: a full-screen shell (no site chrome) that ``wall.js`` fills from
``GET /api/wall`` and keeps live over ``/ws/wall/``."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from hotline.core.errors import Forbidden, NotFound
from hotline.web.pages import requires

from . import wall


@requires(*wall.PERMISSIONS)
@require_http_methods(["GET"])
def wall_page(request):
    try:
        platform = wall.wall_platform(request.user, request.GET.get("platform"))
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    except NotFound as error:
        raise Http404(error.message) from None
    return render(
        request,
        "analytics/wall/wall.html",
        {
            "platform": platform,
            "api": reverse("api:wall_data") + f"?platform={platform.code}",
            "socket": f"/ws/wall/?platform={platform.code}",
        },
    )
