"""The door every channel's service calls (渠道回调): ``/channels/<platform>/<entry>/`` and
``/channels/<platform>/<entry>/<action>`` — WeChat's server URL, an SMS gateway's inbound
and delivery-report webhooks, Weibo's push, a fax gateway's delivery. The entry's
connector verifies, normalises and answers in its service's own format; this view only
finds the entry and turns refusals into a 4xx with a Chinese reason and a log line."""

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from hotline.core import audit
from hotline.core.errors import HotlineError

from . import connectors
from .connectors import Unverified
from .selectors import active_entry

log = logging.getLogger(__name__)


@csrf_exempt  # services sign their calls (or hold credentials); there is no session cookie
@never_cache
def channel_webhook(request, platform, entry, action=""):
    found = active_entry(platform, entry)
    connector = connectors.for_channel(found.channel) if found is not None else None
    if connector is None:
        return JsonResponse({"detail": "渠道接入不存在或已停用"}, status=404)
    try:
        with audit.origin(channel=found.channel):
            return connector.webhook(request, found, action)
    except Unverified as refused:
        log.warning(
            "channel %s/%s refused a call from %s: %s",
            platform,
            entry,
            request.META.get("REMOTE_ADDR", ""),
            refused.message,
        )
        return JsonResponse({"detail": refused.message}, status=refused.status)
    except HotlineError as refused:
        log.info("channel %s/%s: bad input: %s", platform, entry, refused.message)
        return JsonResponse({"detail": refused.message}, status=refused.status)


def text_response(text: str, *, content_type: str = "text/plain; charset=utf-8") -> HttpResponse:
    """What services expect back: a bare text body ("success", an echo string, XML)."""
    return HttpResponse(text, content_type=content_type)
