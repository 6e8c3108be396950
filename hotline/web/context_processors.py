from django.conf import settings

from hotline.core import notify
from hotline.core.roles import ROLES

from .navigation import menu_for


def shell(request):
    """What the page shell needs: platform name, the user's menu and role names."""
    user = getattr(request, "user", None)
    context = {"platform_name": settings.HOTLINE_PLATFORM_NAME}
    if user is not None and user.is_authenticated:
        context["menu"] = menu_for(user, request.path)
        context["role_names"] = [ROLES[c].name for c in user.role_codes]
        context["unread_notifications"] = notify.unread_count(user)
    return context
