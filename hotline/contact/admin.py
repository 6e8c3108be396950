"""Django admin (后台维护) of the contact center: the channel entries (渠道接入), where the
system admin connects a channel and sets its parameters (e.g. the sites allowed to embed
the web chat: ``{"allowed_origins": ["https://www.example.gov.cn"]}``). Audited, secrets
blotted out. The 渠道接入 page of the supervisor seat does the same with a form built from
each connector's declared parameters."""

from django import forms
from django.contrib import admin

from hotline.core.admin import AuditedAdmin

from . import services
from .models import ChannelEntry

FIELDS = ("platform", "channel", "code", "name", "queue", "welcome", "settings", "is_active")


class ChannelEntryForm(forms.ModelForm):
    class Meta:
        model = ChannelEntry
        fields = FIELDS

    def clean_settings(self):
        value = self.cleaned_data.get("settings")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError('接入参数须为 JSON 对象，如 {"allowed_origins": […]}')
        origins = value.get("allowed_origins", [])
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise forms.ValidationError("allowed_origins 须为网站来源的列表")
        return value


@admin.register(ChannelEntry)
class ChannelEntryAdmin(AuditedAdmin):
    form = ChannelEntryForm
    list_display = ("name", "code", "channel", "platform", "queue", "is_active")
    list_filter = ("platform", "channel", "is_active")
    search_fields = ("name", "code")
    fields = FIELDS

    def snapshot(self, obj) -> dict:
        return services.entry_audit_snapshot(obj)
