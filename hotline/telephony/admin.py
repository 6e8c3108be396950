"""Django admin (后台维护) of the voice app: the linkage numbers (联动号码) an agent may
transfer a call to in one click. A platform with none uses the national ones (110, 119,
120, 122). Audited; retired with 启用 off, never deleted."""

from django import forms
from django.contrib import admin

from hotline.core.admin import AuditedAdmin

from .models import LinkageTarget

DIALLABLE = forms.RegexField(
    regex=r"^\d{3,20}$",
    label="外呼号码",
    error_messages={"invalid": "外呼号码须为 3–20 位数字"},
    help_text="经中继外呼的号码，如 110 或联动中心的直线号码",
)


class LinkageTargetForm(forms.ModelForm):
    number = DIALLABLE

    class Meta:
        model = LinkageTarget
        fields = ("platform", "name", "number", "sort", "is_active")


@admin.register(LinkageTarget)
class LinkageTargetAdmin(AuditedAdmin):
    form = LinkageTargetForm
    list_display = ("number", "name", "platform", "sort", "is_active")
    list_filter = ("platform", "is_active")
    search_fields = ("number", "name")
