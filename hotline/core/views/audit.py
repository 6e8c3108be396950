"""审计日志 (审计管理员): browse, open and export the audit trail. Read only: there is no
page, form or button that changes or deletes an audit row."""

import json
from urllib.parse import quote

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from hotline.web import pages
from hotline.web.forms import DateRangeForm

from .. import audit_display, selectors, services
from ..audit import action_label
from ..exports import audit_workbook
from .accounts import one_or_404

# --- filters ----------------------------------------------------------------------------------


class AuditFilterForm(DateRangeForm):
    actor = forms.CharField(
        label="操作人",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "姓名或登录名"}),
    )
    action = forms.ChoiceField(
        label="操作", required=False, error_messages={"invalid_choice": "未知的操作类型"}
    )
    object_type = forms.ChoiceField(
        label="对象类型", required=False, error_messages={"invalid_choice": "未知的对象类型"}
    )
    text = forms.CharField(
        label="关键字",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "对象 / IP / 请求号"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actions = sorted(selectors.audit_actions(), key=lambda code: (code.split(".")[0], code))
        self.fields["action"].choices = [("", "全部操作")] + [
            (
                code,
                f"{action_label(code)}（{code}）"
                if action_label(code) == code
                else action_label(code),
            )
            for code in actions
        ]
        self.fields["object_type"].choices = [("", "全部类型")] + [
            (code, audit_display.object_type_label(code))
            for code in selectors.audit_object_types()
            if code
        ]

    def filters(self) -> selectors.AuditFilter:
        data = self.cleaned_data if self.is_bound else {}
        return selectors.AuditFilter(
            start=data.get("start"),
            end=data.get("end"),
            actor=data.get("actor", "").strip(),
            action=data.get("action", ""),
            object_type=data.get("object_type", ""),
            text=data.get("text", "").strip(),
        )


# --- pages ------------------------------------------------------------------------------------


@pages.requires("audit.read")
@require_http_methods(["GET"])
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    status = 200
    if form.is_bound and not form.is_valid():
        entries = selectors.audit_entries(request.user).none()
        status = 400
    else:
        entries = selectors.audit_entries(request.user, form.filters())
    page = pages.page_of(request, entries)
    for entry in page:
        entry.label = action_label(entry.action)
        entry.category = entry.action.split(".")[0]
        entry.type_label = audit_display.object_type_label(entry.object_type)
        entry.summary = audit_display.change_summary(entry, limit=80)
    return render(
        request,
        "core/audit/log.html",
        {
            "form": form,
            "page": page,
            "can_export": request.user.can("audit.export"),
            "query": request.GET.urlencode(),
        },
        status=status,
    )


@pages.requires("audit.read")
@require_http_methods(["GET"])
def audit_detail(request, pk):
    entry = one_or_404(request, selectors.audit_entries(request.user), pk=pk)
    names = selectors.audit_related_names(entry)
    rows = [
        {
            "field": k,
            "label": audit_display.field_label(entry.object_type, k),
            "before": audit_display.display_value(entry.object_type, k, v[0], names.get(k)),
            "after": audit_display.display_value(entry.object_type, k, v[1], names.get(k)),
        }
        for k, v in entry.changes.items()
    ]
    return render(
        request,
        "core/audit/detail.html",
        {
            "entry": entry,
            "label": action_label(entry.action),
            "type_label": audit_display.object_type_label(entry.object_type),
            "rows": rows,
            "detail_json": json.dumps(entry.detail, ensure_ascii=False, indent=2, sort_keys=True),
        },
    )


@pages.requires("audit.export")
@require_http_methods(["GET"])
def audit_export(request):
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        page = pages.page_of(request, selectors.audit_entries(request.user).none())
        return render(
            request,
            "core/audit/log.html",
            {"form": form, "page": page, "can_export": True, "query": request.GET.urlencode()},
            status=400,
        )
    entries = selectors.audit_entries(request.user, form.filters())
    services.audit_log_exported(
        actor=request.user, filters=request.GET.dict(), rows=entries.count()
    )
    filename = f"审计日志-{timezone.localdate():%Y%m%d}.xlsx"
    response = HttpResponse(
        audit_workbook(entries),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{timezone.localdate():%Y%m%d}.xlsx"; '
        f"filename*=UTF-8''{quote(filename)}"
    )
    return response
