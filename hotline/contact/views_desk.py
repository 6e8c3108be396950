"""坐席工作台 (the agent workbench): one page an agent works in all day.

The page is a static layout; ``static/contact/desk.js`` fills it from the workbench API
(``api_desk``) and keeps it live over the ``/ws/desk/`` socket. What the script needs
(addresses, the 示忙 reasons, the agent) travels in ``data-*`` attributes.
"""

from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse

from hotline.web import pages
from hotline.web.templatetags.ui import SPRITE
from hotline.workorders.services import ATTACHMENT_TYPES

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
                "socket": "/ws/desk/",
                "kb_search": reverse("api:kb_search"),
                "kb_article": reverse("api:article_detail", args=[0]),
                "kb_read": reverse("kb_read", args=[0]),
                "kb_page": reverse("kb_search"),
                "order_new": reverse("order_create"),
                "order": reverse("order_detail", args=["__number__"]),
                "sprite": static(SPRITE),
            },
            "agent": user,
            # what message_send accepts (the same check as an order's attachments)
            "file_types": ",".join("." + ext for ext in sorted(ATTACHMENT_TYPES)),
        },
    )
