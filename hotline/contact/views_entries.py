"""渠道接入 (channel entries) pages of the supervisor seat: every door of a text channel —
its web chat, WeChat account, SMS number, mailbox, Weibo account, fax gateway — with the
address its service must call, and a form built from what the channel's connector
declares it needs (``setting_fields``). Secrets are never shown back; a blank secret
keeps the stored one (``services.entry_settings``)."""

from django import forms
from django.conf import settings as django_settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from hotline.web.pages import attempt, requires

from . import connectors, services
from .models import TEXT_CHANNELS, Channel, ChannelEntry, Queue

SECRET_KEPT = "已设置；留空则保持不变"


def _absolute(request, path: str) -> str:
    site = getattr(django_settings, "HOTLINE_SITE_URL", "").rstrip("/")
    return f"{site}{path}" if site else request.build_absolute_uri(path)


def service_addresses(request, entry: ChannelEntry) -> list[tuple[str, str]]:
    """(what it is for, full URL) of each address the channel's service is told to call —
    for web chat, the citizen's page."""
    if entry.channel == Channel.WEBCHAT:
        page = reverse("webchat_page", args=[entry.platform.code, entry.code])
        return [("来电人咨询页面（可嵌入网站）", _absolute(request, page))]
    connector = connectors.for_channel(entry.channel)
    addresses = []
    for action, purpose in (connector.webhook_actions if connector else {}).items():
        if action:
            path = reverse("channel_webhook_action", args=[entry.platform.code, entry.code, action])
        else:
            path = reverse("channel_webhook", args=[entry.platform.code, entry.code])
        addresses.append((purpose, _absolute(request, path)))
    return addresses


class EntryForm(forms.Form):
    # chosen on the list page (新建 → the channel): its connector decides the other fields
    channel = forms.ChoiceField(
        label="渠道",
        choices=[(c.value, c.label) for c in Channel if c in TEXT_CHANNELS],
        widget=forms.HiddenInput,
    )
    code = forms.SlugField(
        label="接入代码", max_length=30, help_text="字母、数字或连字符，出现在回调地址中"
    )
    name = forms.CharField(label="名称", max_length=50)
    queue = forms.ModelChoiceField(
        label="进入队列", queryset=Queue.objects.none(), empty_label="请选择队列"
    )
    welcome = forms.CharField(
        label="欢迎语", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_active = forms.BooleanField(label="启用", required=False, initial=True)

    def __init__(self, *args, platform_id: int, entry: ChannelEntry | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.entry = entry
        self.fields["queue"].queryset = Queue.objects.filter(platform_id=platform_id)
        if entry is not None:  # a door's channel and address do not change
            del self.fields["channel"], self.fields["code"]
        channel = (
            entry.channel if entry else (self.data.get("channel") or self.initial.get("channel"))
        )
        connector = connectors.for_channel(channel or "")
        self.setting_specs = connector.setting_fields if connector else ()
        stored = (entry.settings or {}) if entry else {}
        for spec in self.setting_specs:
            name = f"setting_{spec.key}"
            help_text = spec.help
            if spec.secret:
                widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
                if stored.get(spec.key):
                    help_text = f"{help_text}（{SECRET_KEPT}）" if help_text else SECRET_KEPT
            else:
                widget = forms.TextInput()
            self.fields[name] = forms.CharField(
                label=spec.label,
                required=spec.required and not (spec.secret and stored.get(spec.key)),
                help_text=help_text,
                widget=widget,
                initial=spec.default,
            )
            if not spec.secret and spec.key in stored:
                value = stored[spec.key]
                self.initial[name] = " ".join(value) if isinstance(value, list) else value

    @property
    def setting_fields(self):
        return [self[f"setting_{spec.key}"] for spec in self.setting_specs]

    def settings(self) -> dict:
        return {
            spec.key: self.cleaned_data.get(f"setting_{spec.key}", "")
            for spec in self.setting_specs
        }


@requires("contact.configure")
def entries(request):
    rows = [
        {"entry": entry, "addresses": service_addresses(request, entry)}
        for entry in ChannelEntry.objects.filter(platform_id=request.user.platform_id)
        .select_related("platform", "queue")
        .order_by("channel", "code")
    ]
    channels = [(c.value, c.label) for c in Channel if c in TEXT_CHANNELS]
    return render(request, "contact/floor/entries.html", {"rows": rows, "channels": channels})


@requires("contact.configure")
def entry_new(request):
    channel = request.GET.get("channel") or request.POST.get("channel") or Channel.WEBCHAT
    form = EntryForm(
        request.POST or None,
        platform_id=request.user.platform_id,
        initial={"channel": channel},
    )
    if channel not in TEXT_CHANNELS:
        messages.error(request, "请选择文字渠道")
        return redirect("contact_entries")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ok, entry = attempt(
            request,
            lambda: services.channel_entry_create(
                actor=request.user,
                platform=request.user.platform,
                channel=data["channel"],
                code=data["code"],
                name=data["name"],
                queue=data["queue"],
                welcome=data["welcome"] or None,
                settings=form.settings(),
            ),
            form=form,
        )
        if ok:
            messages.success(request, f"渠道接入“{entry.name}”已创建，请将回调地址登记到渠道服务商")
            return redirect("contact_entries")
    return render(
        request,
        "contact/floor/entry_edit.html",
        {"form": form, "entry": None, "channel_label": Channel(channel).label},
    )


@requires("contact.configure")
def entry_edit(request, pk: int):
    entry = get_object_or_404(
        ChannelEntry.objects.select_related("platform"), pk=pk, platform_id=request.user.platform_id
    )
    if request.method == "POST":
        form = EntryForm(request.POST, platform_id=entry.platform_id, entry=entry)
        if form.is_valid():
            data = form.cleaned_data
            ok, _ = attempt(
                request,
                lambda: services.channel_entry_update(
                    actor=request.user,
                    entry=entry,
                    name=data["name"],
                    queue=data["queue"],
                    welcome=data["welcome"],
                    is_active=data["is_active"],
                    settings=form.settings(),
                ),
                form=form,
            )
            if ok:
                messages.success(request, f"渠道接入“{data['name']}”已保存")
                return redirect("contact_entries")
    else:
        form = EntryForm(
            platform_id=entry.platform_id,
            entry=entry,
            initial={
                "name": entry.name,
                "queue": entry.queue_id,
                "welcome": entry.welcome,
                "is_active": entry.is_active,
            },
        )
    return render(
        request,
        "contact/floor/entry_edit.html",
        {
            "form": form,
            "entry": entry,
            "channel_label": entry.get_channel_display(),
            "addresses": service_addresses(request, entry),
        },
    )
