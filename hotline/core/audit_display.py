"""How an audit entry reads to a person — field labels, values, masked phone numbers —
shared by the audit viewer and the xlsx export so that both show the same thing."""

import json

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

from .masking import mask_phone
from .roles import PERMISSIONS, ROLES


def object_type_label(object_type: str) -> str:
    """'core.user' → '用户'; a type that is not a model (e.g. 'role') → a Chinese word."""
    if object_type == "role":
        return "角色"
    model = _model(object_type)
    return str(model._meta.verbose_name) if model else object_type


def _model(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _model_field(object_type: str, field: str):
    model = _model(object_type)
    if model is None:
        return None
    try:
        return model._meta.get_field(field)
    except FieldDoesNotExist:
        return None


def field_label(object_type: str, field: str) -> str:
    if field in PERMISSIONS:
        return PERMISSIONS[field].name
    if field == "roles":
        return "角色"
    model_field = _model_field(object_type, field)
    return str(getattr(model_field, "verbose_name", field)) if model_field else field


MASKED_FIELDS = {"phone"}  # a person's number: shown masked here as everywhere else


def display_value(object_type: str, field: str, value, names: dict | None = None) -> str:
    """An audited value as a person reads it: 是/否, choice labels, names of related rows,
    masked phone numbers, role names."""
    if value is None:
        return "—"
    if value == "":
        return "（空）"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if field in MASKED_FIELDS and isinstance(value, str):
        return mask_phone(value)
    if names and value in names:
        return f"{names[value]}（#{value}）"
    choices = dict(getattr(_model_field(object_type, field), "flatchoices", None) or ())
    if isinstance(value, str) and value in choices:
        return str(choices[value])
    if field == "roles" and isinstance(value, list):
        return "、".join(ROLES[c].name if c in ROLES else c for c in value) or "（无）"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def change_summary(entry, limit: int | None = None) -> str:
    """'姓名：韩晓燕 → 王系统；…' — the diff as one line, phones masked."""
    parts = []
    for field, (before, after) in entry.changes.items():
        shown = (
            display_value(entry.object_type, field, before),
            display_value(entry.object_type, field, after),
        )
        if shown[0] != shown[1] and not (before in (None, "") and after in (None, "")):
            parts.append(f"{field_label(entry.object_type, field)}：{shown[0]} → {shown[1]}")
    text = "；".join(parts)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"
