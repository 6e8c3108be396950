"""Error pages in Chinese (JSON under /api/)."""

from django.conf import settings
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string


def _error(request, status: int, title: str, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return render(
        request,
        "web/error.html",
        {"status": status, "title": title, "message": message},
        status=status,
    )


def bad_request(request, exception=None):
    return _error(request, 400, "请求有误", "请求的内容不正确，请检查后重试。")


def forbidden(request, exception=None):
    message = str(exception) if exception and str(exception) else "您没有访问此页面的权限。"
    return _error(request, 403, "无权访问", message)


def not_found(request, exception=None):
    return _error(request, 404, "页面不存在", "您访问的页面不存在或不在您的管辖范围内。")


def server_error(request):
    message = "系统出现错误，已记录，请稍后重试或联系系统管理员。"
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=500)
    # Rendered without the request, so no context processor (menu, database) can fail
    # a second time while reporting the first failure.
    html = render_to_string(
        "web/error.html",
        {
            "status": 500,
            "title": "系统错误",
            "message": message,
            "platform_name": settings.HOTLINE_PLATFORM_NAME,
        },
    )
    return HttpResponseServerError(html)
