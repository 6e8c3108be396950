"""组织架构: the platform tree with its handling units and teams, and a unit's staff.

What a viewer sees is decided by the selectors (data scope): a unit's staff see only their
own unit. Editing the organisation happens in the Django admin (后台维护), linked here for
those who hold org.manage.
"""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from hotline.web import pages

from .. import selectors
from ..masking import mask_phone
from ..roles import ROLES
from .accounts import one_or_404

LEVEL_BADGES = {"province": "省级", "city": "市级", "county": "县级"}


@pages.requires("org.view", "org.manage")
@require_http_methods(["GET"])
def org(request):
    overview = selectors.org_overview(request.user)
    for node in overview:
        platform = node["platform"]
        node["level_badge"] = LEVEL_BADGES.get(platform.level, platform.get_level_display())
    can_manage = request.user.can("org.manage")
    return render(
        request,
        "core/org/tree.html",
        {
            "overview": overview,
            "can_manage": can_manage,
            "totals": {
                "platforms": len(overview),
                "units": sum(node["unit_count"] for node in overview),
                "teams": sum(len(node["teams"]) for node in overview),
                "users": sum(node["user_count"] for node in overview),
            },
            "admin_links": _admin_links() if can_manage else {},
        },
    )


def _admin_links() -> dict:
    return {
        "platforms": reverse("admin:core_platform_changelist"),
        "units": reverse("admin:core_handlingunit_changelist"),
        "teams": reverse("admin:core_team_changelist"),
        "unit_add": reverse("admin:core_handlingunit_add"),
        "team_add": reverse("admin:core_team_add"),
    }


@pages.requires("org.view", "org.manage")
@require_http_methods(["GET"])
def unit_detail(request, pk):
    unit = one_or_404(request, selectors.units_visible(request.user), pk=pk)
    staff = list(selectors.unit_staff(request.user, unit))
    for person in staff:
        person.phone_masked = mask_phone(person.phone)
        person.role_list = [ROLES[a.role] for a in person.role_assignments.all() if a.role in ROLES]
    can_manage = request.user.can("org.manage")
    return render(
        request,
        "core/org/unit.html",
        {
            "unit": unit,
            "staff": staff,
            "active_count": sum(1 for person in staff if person.is_active),
            "can_manage": can_manage,
            "can_accounts": request.user.can("accounts.manage"),
            "edit_url": reverse("admin:core_handlingunit_change", args=[unit.pk])
            if can_manage
            else "",
        },
    )
