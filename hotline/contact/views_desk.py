"""坐席工作台 (the agent workbench): one page an agent works in all day; and 会话协助, the
page of staff invited into a chat (多方会话) — other agents, back-office staff, handling
units' staff.

The pages are static layouts; ``static/contact/desk.js`` and ``assist.js`` fill them from
the workbench API (``api_desk``) and keep them live over the ``/ws/desk/`` socket. What
the scripts need (addresses, the 示忙 reasons, the person) travels in ``data-*``
attributes.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse

from hotline.web import pages
from hotline.workorders.services import ATTACHMENT_TYPES

from . import selectors
from .lifecycle import AGENT_CHOSEN_REASONS, NOT_READY_REASONS


@pages.requires("contact.handle")
def desk(request):
    user = request.user
    return render(
        request,
        "contact/desk/desk.html",
        {
            "reasons": [(code, NOT_READY_REASONS[code]) for code in AGENT_CHOSEN_REASONS],
            "urls": {
                # the API prefix of the workbench routes (…/desk, …/sessions/{id} …)
                "api": reverse("api:desk").removesuffix("desk"),
                "voice_api": reverse("api:voice_linkage_targets").removesuffix("linkage-targets"),
                "socket": "/ws/desk/",
                "kb_search": reverse("api:kb_search"),
                "kb_article": reverse("api:article_detail", args=[0]),
                "kb_read": reverse("kb_read", args=[0]),
                "kb_page": reverse("kb_search"),
                "order_new": reverse("order_create"),
                "order": reverse("order_detail", args=["__number__"]),
            },
            "agent": user,
            # what message_send accepts (the same check as an order's attachments)
            "file_types": ",".join("." + ext for ext in sorted(ATTACHMENT_TYPES)),
        },
    )


@login_required
def assist(request):
    """会话协助: the chats the person is invited into, each live with its transcript and a
    composer; leaving is one click. Below, the chats taken part in before and the
    citizens' ratings of them, which the person shares (满意度指标共享)."""
    user = request.user
    if not selectors.may_assist(user):
        raise PermissionDenied("会话协助供热线工作人员和承办单位工作人员使用。")
    ratings = selectors.participant_ratings(user)
    return render(
        request,
        "contact/desk/assist.html",
        {
            "urls": {
                "api": reverse("api:desk").removesuffix("desk"),
                "socket": "/ws/desk/",
            },
            "me": user,
            "ratings": ratings,
            "levels": list(ratings["levels"].items()),
            "history": selectors.assist_history(user),
        },
    )
