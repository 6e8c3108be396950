"""Error pages in Chinese (JSON under /api/)."""

from django.http import JsonResponse
from django.shortcuts import render


def _error(request, status: int, title: str, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "web/error.html", {"status": status, "title": title, "message": message},
                  status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "请求有误", "请求的内容不正确，请检查后重试。")


def forbidden(request, exception=None):
    message = str(exception) if exception and str(exception) else "您没有访问此页面的权限。"
    return _error(request, 403, "无权访问", message)


def not_found(request, exception=None):
    return _error(request, 404, "页面不存在", "您访问的页面不存在或不在您的管辖范围内。")


def server_error(request):
    return _error(request, 500, "系统错误", "系统出现错误，已记录，请稍后重试或联系系统管理员。")
