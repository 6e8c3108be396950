"""The REST API: one NinjaAPI, one router per bounded context, OpenAPI at /api/openapi.json.

Authentication: ``Authorization: Bearer <token>`` (tokens from ``hotline token`` or the
profile page), or the page session cookie with CSRF. Every refusal is JSON
``{"detail": "<中文说明>"}`` with a 4xx status.
"""

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

import hotline

from .analytics.api_assess import router as analytics_assess_router
from .analytics.api_hot import router as analytics_hot_router
from .analytics.api_kpi import router as analytics_kpi_router
from .analytics.api_reports import router as analytics_reports_router
from .analytics.api_wall import router as analytics_wall_router
from .contact.api_desk import router as contact_desk_router
from .contact.api_floor import router as contact_floor_router
from .core import audit
from .core.api import router as core_router
from .core.api import system_router
from .core.auth import user_for_token
from .core.errors import HotlineError
from .groups.api import router as groups_router
from .knowledge.api_articles import router as kb_articles_router
from .knowledge.api_corrections import router as kb_corrections_router
from .knowledge.api_search import router as kb_search_router
from .telephony.api import router as voice_router
from .workorders.api import router as workorders_router


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is None:
            return None
        request.user = user
        # The request started anonymous; from here its writes are this user's.
        previous = audit.current_origin()
        audit.set_origin(
            audit.Origin(actor=user, ip=previous.ip, request_id=previous.request_id, channel="api")
        )
        return user


class ActiveSession(SessionAuth):
    """The page session, for pages that call the API (CSRF checked by Ninja)."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None and user.must_change_password:
            return None
        return user


api = NinjaAPI(
    title="12345 热线平台 API",
    version=hotline.__version__,
    description="政务服务便民热线平台接口。认证：`Authorization: Bearer <令牌>`。",
    auth=[BearerToken(), ActiveSession()],
    urls_namespace="api",
    docs_url="/docs",
)

FIELD_NAMES = {
    "missing": "缺少必填项",
    "int_parsing": "应为整数",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "string_too_long": "内容过长",
    "string_type": "应为文本",
    "bool_parsing": "应为 true 或 false",
    "json_invalid": "JSON 格式错误",
    "literal_error": "取值不在允许范围内",
}


@api.exception_handler(HotlineError)
def on_hotline_error(request, exc: HotlineError):
    body = {"detail": exc.message}
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    problems = []
    for error in exc.errors:
        location = ".".join(str(p) for p in error.get("loc", ())[1:]) or "请求"
        problems.append(f"{location}：{FIELD_NAMES.get(error.get('type'), '格式不正确')}")
    return api.create_response(
        request,
        {"detail": "请求数据不正确：" + "；".join(problems), "errors": exc.errors},
        status=422,
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return api.create_response(request, {"detail": "未登录或令牌无效"}, status=401)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(request, {"detail": "请求的资源不存在"}, status=404)


# Ninja's own refusals are English; the API speaks Chinese.
NINJA_MESSAGES = {
    "Cannot parse request body": "请求内容不是有效的 JSON",
    "CSRF check Failed": "CSRF 校验失败，请刷新页面后重试",
}
STATUS_MESSAGES = {
    400: "请求格式不正确",
    401: "未登录或令牌无效",
    403: "无权执行此操作",
    404: "请求的资源不存在",
    405: "不支持此请求方法",
    429: "请求过于频繁，请稍后再试",
}


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    message = str(exc)
    message = NINJA_MESSAGES.get(message.split(" (")[0], message)
    if message.isascii():
        message = STATUS_MESSAGES.get(exc.status_code, "请求无法处理")
    return api.create_response(request, {"detail": message}, status=exc.status_code)


api.add_router("/", system_router)
api.add_router("/", core_router)
api.add_router("/", workorders_router)
api.add_router("/", kb_articles_router)
api.add_router("/", kb_corrections_router)
api.add_router("/", kb_search_router)
api.add_router("/contact/", contact_desk_router)
api.add_router("/contact/", contact_floor_router)
api.add_router("/", groups_router)
api.add_router("/", analytics_kpi_router)
api.add_router("/", analytics_hot_router)
api.add_router("/", analytics_assess_router)
api.add_router("/", analytics_wall_router)
api.add_router("/", analytics_reports_router)
api.add_router("/voice/", voice_router)
