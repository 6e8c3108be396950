"""Small template helpers of the page shell: icons, active menu entries, dates, masking.

Icons come from the vendored Bootstrap Icons sprite. Code names icons abstractly
(``home``, ``audit`` …, see navigation.py); :data:`ICONS` maps them to sprite names, and a
name not in the map is taken as a Bootstrap Icons name as is.
"""

import datetime as dt

from django import forms, template
from django.templatetags.static import static
from django.utils import timezone
from django.utils.html import format_html

from hotline.core import selectors
from hotline.core.masking import mask_phone
from hotline.core.roles import ROLES

register = template.Library()

SPRITE = "vendor/bootstrap-icons/bootstrap-icons.svg"

ICONS = {
    # navigation (navigation.py)
    "home": "house-door",
    "org": "diagram-3",
    "calendar": "calendar3",
    "users": "people",
    "settings": "gear",
    "shield": "shield-check",
    "key": "key",
    "lock": "lock",
    "audit": "journal-text",
    "user": "person-circle",
    "order_new": "pencil-square",
    "orders": "card-list",
    "dispatch": "send",
    "inbox": "inbox-fill",
    "callback": "telephone-outbound",
    "bell": "bell",
    "rules": "signpost-split",
    # shell and panels
    "logout": "box-arrow-right",
    "phone": "telephone",
    "unit": "building",
    "team": "people-fill",
    "skill": "stars",
    "clock": "clock-history",
    "ok": "check-circle",
    "warning": "exclamation-triangle",
    "error": "x-octagon",
    "info": "info-circle",
    "empty": "inbox",
    "platform": "broadcast",
    "leader": "person-badge",
    "token": "key",
    "copy": "clipboard",
    "arrow": "chevron-right",
    "menu": "list",
    "holiday": "balloon",
    "password": "shield-lock",
    "chart": "bar-chart-line",
}


@register.simple_tag
def icon(name: str, css: str = "") -> str:
    """``{% icon "home" %}`` → an inline SVG referencing the vendored sprite."""
    symbol = ICONS.get(name, name)
    return format_html(
        '<svg class="bi {}" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>',
        css,
        static(SPRITE),
        symbol,
    )


@register.filter
def masked(number: str) -> str:
    return mask_phone(number)


WEEKDAYS = "一二三四五六日"


@register.filter
def weekday(day: dt.date) -> str:
    """星期一 … 星期日."""
    if not isinstance(day, dt.date):
        return ""
    return "星期" + WEEKDAYS[day.weekday()]


@register.filter
def cn_date(value) -> str:
    """2026年11月22日 (a date or an aware datetime, in local time)."""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    if not isinstance(value, dt.date):
        return ""
    return f"{value.year}年{value.month}月{value.day}日"


@register.filter
def cn_datetime(value) -> str:
    """2026-11-22 09:05 in local time; empty for nothing."""
    if not isinstance(value, dt.datetime):
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


@register.filter
def initial(name: str) -> str:
    """The character shown in a round avatar: the surname, or the first letter."""
    name = (name or "").strip()
    return name[:1].upper() if name else "?"


@register.filter
def role_names(user) -> str:
    """The Chinese names of a user's roles, joined with 、."""
    return "、".join(ROLES[code].name for code in user.role_codes if code in ROLES)


@register.simple_tag
def security_policy():
    """``{% security_policy as policy %}`` on pages whose view does not pass it (login)."""
    return selectors.security_policy()


@register.simple_tag(takes_context=True)
def render_panel(context, panel) -> str:
    """Render a home panel (hotline.web.home.ShownPanel) with its own context on top of
    the page's, the way ``{% include %}`` does."""
    template = context.template.engine.get_template(panel.template)
    with context.push(panel_id=panel.id, panel_column=panel.column, **panel.context):
        return template.render(context)


def _widget_class(widget) -> str:
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.Select | forms.SelectMultiple):
        return "form-select"
    return "form-control"


@register.simple_tag
def control(bound_field, **attrs) -> str:
    """A form field's widget with Bootstrap classes (and ``is-invalid`` when it has
    errors): ``{% control form.username autocomplete="username" autofocus=True %}``."""
    widget = bound_field.field.widget
    css = [_widget_class(widget), attrs.pop("css", "")]
    if bound_field.errors:
        css.append("is-invalid")
    attrs["class"] = " ".join(c for c in css if c)
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = f"{bound_field.auto_id}_error"
    attrs = {k.replace("_", "-"): v for k, v in attrs.items() if v not in (False, None, "")}
    return bound_field.as_widget(attrs=attrs)
