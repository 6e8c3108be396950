"""Home-page panels (首页面板), declared as data.

Each role's home shows a greeting and then the panels of all the user's roles, each
panel once, in ``order``. A panel is a function ``(request) -> (template, context)``
(or ``None`` to show nothing) that reads only through selectors; it is named here by
dotted path so that this module imports no business context.

Adding a panel is one line in :data:`PANELS` plus its id in the roles' lists of
:data:`HOME_PANELS` — or, from another app's ``ready()``::

    home.register(home.Panel("orders_mine", "hotline.workorders.views.panel_mine",
                             order=15), roles=("agent", "team_leader"))
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.module_loading import import_string

from hotline.core.roles import ROLES


@dataclass(frozen=True)
class Panel:
    id: str
    function: str  # dotted path of (request) -> (template, context) | None
    order: int = 50  # smaller first
    column: str = "main"  # "main" (the wide column) | "side" (the narrow right rail)


PANELS: dict[str, Panel] = {
    p.id: p
    for p in [
        Panel("audit_recent", "hotline.core.views.home.panel_audit_recent", order=5),
        Panel("accounts", "hotline.core.views.home.panel_accounts", order=5),
        Panel("role_holders", "hotline.core.views.home.panel_role_holders", order=6),
        Panel("my_team", "hotline.core.views.home.panel_my_team", order=10),
        Panel("my_unit", "hotline.core.views.home.panel_my_unit", order=10),
        Panel("org_overview", "hotline.core.views.home.panel_org_overview", order=20),
        Panel("teams", "hotline.core.views.home.panel_teams", order=30),
        Panel("units", "hotline.core.views.home.panel_units", order=30),
        Panel("security", "hotline.core.views.home.panel_security", order=5, column="side"),
        Panel("calendar", "hotline.core.views.home.panel_calendar", order=80, column="side"),
    ]
}

HOME_PANELS: dict[str, list[str]] = {
    "agent": ["my_team", "calendar"],
    "team_leader": ["my_team", "org_overview", "teams", "calendar"],
    "dispatcher": ["my_team", "units", "calendar"],
    "callback": ["my_team", "units", "calendar"],
    "qa": ["my_team", "teams", "calendar"],
    "kb_editor": ["units", "calendar"],
    "analyst": ["org_overview", "teams", "calendar"],
    "trainer": ["teams", "calendar"],
    "manager": ["org_overview", "teams", "calendar"],
    "office": ["org_overview", "units", "calendar"],
    "unit_handler": ["my_unit", "calendar"],
    "sys_admin": ["accounts", "teams", "calendar"],
    "sec_admin": ["security", "role_holders"],
    "audit_admin": ["audit_recent"],
}


def register(panel: Panel, roles: Iterable[str] = ()) -> None:
    """Add a panel (from another app's ``ready()``) and show it to ``roles``."""
    PANELS[panel.id] = panel
    for role in roles:
        ids = HOME_PANELS.setdefault(role, [])
        if panel.id not in ids:
            ids.append(panel.id)


def check_declarations() -> None:
    """Every role has a list, every listed id is a panel, every panel is importable."""
    for role, ids in HOME_PANELS.items():
        assert role in ROLES, f"unknown role {role}"
        for panel_id in ids:
            assert panel_id in PANELS, f"{role}: unknown panel {panel_id}"
    for panel in PANELS.values():
        assert panel.column in ("main", "side"), panel.id
        import_string(panel.function)


def panel_ids_for(role_codes: Iterable[str]) -> list[str]:
    """The panels of all these roles, each once, in panel order."""
    ids = {panel_id for role in role_codes for panel_id in HOME_PANELS.get(role, ())}
    return sorted(ids, key=lambda panel_id: (PANELS[panel_id].order, panel_id))


@dataclass
class ShownPanel:
    id: str
    column: str
    template: str
    context: dict = field(default_factory=dict)


def panels_for(request) -> list[ShownPanel]:
    """Run the panel functions of the signed-in user's roles, in order."""
    shown = []
    for panel_id in panel_ids_for(request.user.role_codes):
        panel = PANELS[panel_id]
        result = import_string(panel.function)(request)
        if result is None:
            continue
        template, context = result
        shown.append(
            ShownPanel(id=panel.id, column=panel.column, template=template, context=context)
        )
    return shown


def layout(panels: list[ShownPanel]) -> tuple[list[ShownPanel], list[ShownPanel]]:
    """(main column, side rail); with nothing for the main column the rail becomes it."""
    main = [p for p in panels if p.column == "main"]
    side = [p for p in panels if p.column == "side"]
    return (main, side) if main else (side, [])
