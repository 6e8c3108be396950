"""Request-wide concerns: audit origin, idle timeout, forced password change, headers."""

import ipaddress
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from . import audit
from .models import SecurityPolicy


def client_ip(request) -> str | None:
    """The caller's address. Behind nginx it arrives in X-Real-IP, believed only from a
    proxy listed in HOTLINE_TRUSTED_PROXIES (docs/operations.md)."""
    remote = request.META.get("REMOTE_ADDR") or None
    forwarded = request.META.get("HTTP_X_REAL_IP", "").strip()
    if forwarded and remote in settings.HOTLINE_TRUSTED_PROXIES:
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            return remote
    return remote


class RequestContextMiddleware:
    """Sets the audit origin (actor, IP, request id) for everything this request writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex[:16]
        user = request.user if request.user.is_authenticated else None
        token = audit.set_origin(
            audit.Origin(
                actor=user,
                ip=client_ip(request),
                request_id=request.request_id,
                channel="api" if request.path.startswith("/api/") else "web",
            )
        )
        try:
            response = self.get_response(request)
        finally:
            audit.reset_origin(token)
        if (
            request.path.startswith("/api/")
            and response.status_code == 405
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            # Ninja answers a wrong method itself, in English text; keep the API's contract.
            allow = response.get("Allow")
            response = JsonResponse({"detail": "不支持此请求方法"}, status=405)
            if allow:
                response["Allow"] = allow
        response["X-Request-ID"] = request.request_id
        return response


class IdleTimeoutMiddleware:
    """Signs a page session out after the policy's idle minutes (会话超时)."""

    SESSION_KEY = "last_activity"
    # The stamp is renewed at most this often, so that a page view does not rewrite the
    # session row every time; sign-out then comes 0–30 s after the policy's minutes.
    RESOLUTION_SECONDS = 30

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(self.SESSION_KEY)
            idle_limit = SecurityPolicy.current().idle_timeout_minutes * 60
            if last is not None and now - last > idle_limit + self.RESOLUTION_SECONDS:
                audit.record(
                    "auth.session_timeout", request.user, detail={"idle_seconds": int(now - last)}
                )
                logout(request)
                messages.warning(request, "您长时间未操作，已自动退出，请重新登录。")
                if request.path.startswith("/api/") or request.headers.get("HX-Request"):
                    from django.http import JsonResponse

                    return JsonResponse({"detail": "会话已超时，请重新登录"}, status=401)
                return redirect(f"{reverse('login')}?next={request.path}")
            if last is None or now - last >= self.RESOLUTION_SECONDS:
                request.session[self.SESSION_KEY] = now
        return self.get_response(request)


class ForcePasswordChangeMiddleware:
    """Until a new account has chosen its own password, only the change page is open."""

    ALLOWED = ("/password/change/", "/logout/", "/static/", "/api/health")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and user.must_change_password
            and not request.path.startswith(self.ALLOWED)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": "首次登录须先修改密码"}, status=403)
            return redirect("password_change")
        return self.get_response(request)


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    """CSP without inline script or style, plus the headers Django does not set."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Set, not defaulted: Ninja's docs page brings a looser policy of its own.
        response["Content-Security-Policy"] = CSP
        # A page made to be embedded (the web-chat widget) names the sites that may frame
        # it: ``response.frame_ancestors = ["https://www.example.gov.cn"]``.
        ancestors = getattr(response, "frame_ancestors", None)
        if ancestors:
            response["Content-Security-Policy"] = CSP.replace(
                "frame-ancestors 'none'", "frame-ancestors " + " ".join(ancestors)
            )
        response.setdefault("Permissions-Policy", "camera=(), geolocation=(), microphone=(self)")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response.setdefault("Cache-Control", "no-store")
        return response
