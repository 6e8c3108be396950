"""Pages of the supervisor seat (班长席): the live floor, and the queues' routing settings.

The floor page is a shell filled by ``floor.js`` from the API (``api_floor``) and kept
live over ``/ws/desk/``. The queue settings are a plain form: every change goes through
``services.queue_update``, whose Chinese refusals are shown on the form, and routing reads
the row again on its next decision, so a change is in force at once.
"""

import re

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from hotline.core.models import Skill
from hotline.web.pages import attempt, requires

from . import selectors, services
from .lifecycle import NOT_READY_REASONS
from .models import WEEKDAY_LABELS, Announcement, Channel, OutOfHoursAction, Queue, Strategy

# --- the floor ---------------------------------------------------------------------------------

# (value, label) of the state filter; the values are matched by floor.js
STATE_FILTERS = (
    ("", "全部状态"),
    ("ready", "示闲"),
    ("not_ready", "示忙（含小休等）"),
    ("in_session", "会话中"),
    ("wrap_up", "整理"),
    ("signed_in", "已签入"),
    ("signed_out", "签出"),
)

# bootstrap-icons names of the channels, as the grid shows them
CHANNEL_ICONS = {
    Channel.VOICE: "telephone-fill",
    Channel.WEBCHAT: "chat-dots-fill",
    Channel.WECHAT: "wechat",
    Channel.SMS: "chat-left-text-fill",
    Channel.EMAIL: "envelope-fill",
    Channel.WEIBO: "sina-weibo",
    Channel.FAX: "printer-fill",
}


@requires("contact.supervise")
def floor(request):
    overview = selectors.floor_overview(request.user)
    return render(
        request,
        "contact/floor/floor.html",
        {
            "teams": overview["teams"],
            "agents": overview["agents"],
            "state_filters": STATE_FILTERS,
            "levels": Announcement.Level.choices,
            "audiences": Announcement.Audience.choices,
            "can_configure": request.user.can("contact.configure"),
            "config": {
                "api": reverse("api:floor").removesuffix("floor"),
                "voice_api": reverse("api:voice_linkage_targets").removesuffix("linkage-targets"),
                "channels": {str(k): v for k, v in CHANNEL_ICONS.items()},
                "reasons": NOT_READY_REASONS,
                "me": request.user.pk,
            },
        },
    )


# --- queues (contact.configure) ------------------------------------------------------------------


HOURS_PATTERN = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–—~至]\s*(\d{1,2}:\d{2})\s*$")


def hours_text(spans) -> str:
    """[["08:00", "12:00"], ["14:00", "18:00"]] → "08:00-12:00,14:00-18:00"."""
    return ",".join(f"{start}-{end}" for start, end in spans or [])


def hours_summary(weekly) -> list[tuple[str, str]]:
    """A week's hours in a few lines: consecutive days alike share one (周一至周五 …)."""
    texts = []
    for day in range(7):
        text = hours_text((weekly or {}).get(str(day), []))
        texts.append("全天" if text == "00:00-24:00" else text or "不服务")
    lines, start = [], 0
    for day in range(1, 8):
        if day == 7 or texts[day] != texts[start]:
            first, last = WEEKDAY_LABELS[start], WEEKDAY_LABELS[day - 1]
            label = first if start == day - 1 else f"{first}至{last}"
            lines.append((label, texts[start]))
            start = day
    return lines


def parse_hours(text: str) -> list[list[str]]:
    """ "08:00-12:00,14:00-18:00" → [["08:00", "12:00"], ["14:00", "18:00"]]; empty → []
    (closed all day). Only the shape is read here: the service judges the times."""
    spans = []
    for part in re.split(r"[,，;；\s]+", (text or "").strip()):
        if not part:
            continue
        match = HOURS_PATTERN.match(part)
        if match is None:
            raise forms.ValidationError(f"“{part}”格式不正确，应为 08:00-12:00，多个时段用逗号分隔")
        start, end = match.groups()
        spans.append([start.zfill(5), end.zfill(5)])
    return spans


def _seconds(label: str, help_text: str = "", maximum: int = 7 * 24 * 3600):
    return forms.IntegerField(
        label=label, min_value=0, max_value=maximum, help_text=help_text, required=True
    )


class QueueForm(forms.Form):
    name = forms.CharField(label="队列名称", max_length=50)
    is_active = forms.BooleanField(label="启用", required=False)
    strategy = forms.ChoiceField(label="分配策略", choices=Strategy.choices)
    skill = forms.ModelChoiceField(
        label="所需技能",
        queryset=Skill.objects.none(),
        required=False,
        empty_label="不限技能（本平台所有签入坐席）",
    )
    min_skill_level = forms.IntegerField(label="最低技能等级", min_value=1, max_value=5)
    widen_after_seconds = _seconds(
        "放宽技能要求间隔（秒）", "每等待这么久，所需技能等级降低一级（0 表示不放宽）"
    )
    skill_bonus_seconds = _seconds(
        "技能加权（秒/级）", "坐席技能每高一级，本队列来电在其面前提前的秒数"
    )
    overflow_queue = forms.ModelChoiceField(
        label="溢出队列", queryset=Queue.objects.none(), required=False, empty_label="不溢出"
    )
    overflow_after_seconds = _seconds("溢出等待时长（秒）", "0 表示不溢出")
    max_length = forms.IntegerField(
        label="最大排队数", min_value=0, max_value=100_000, help_text="0 表示不限"
    )
    full_message = forms.CharField(label="队列已满提示", max_length=300)
    max_wait_seconds = _seconds(
        "最长排队时长（秒）", "超过且无溢出队列时结束排队并转回拨任务（0 表示不限）"
    )
    offer_timeout_seconds = _seconds(
        "接起超时（秒）", "手动接起的坐席在此时间内未接起则退回排队", maximum=3600
    )
    idle_close_seconds = _seconds(
        "文字会话空闲关闭（秒）", "来电人无新消息超过此时长自动结束（0 表示不关闭）"
    )
    out_of_hours_action = forms.ChoiceField(
        label="非服务时间处理", choices=OutOfHoursAction.choices
    )
    out_of_hours_message = forms.CharField(
        label="非服务时间提示", max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )
    out_of_hours_queue = forms.ModelChoiceField(
        label="非服务时间转至", queryset=Queue.objects.none(), required=False, empty_label="不转"
    )
    priority_numbers = forms.CharField(
        label="指定优先号码",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="每行一个号码或账号，这些来电优先接入",
    )
    designated_priority_seconds = _seconds("指定号码优先（秒）")
    vip_priority_seconds = _seconds("重点来电人优先（秒）")
    emergency_priority_seconds = _seconds("紧急诉求优先（秒）")

    def __init__(self, *args, queue: Queue, **kwargs):
        super().__init__(*args, **kwargs)
        others = Queue.objects.filter(platform_id=queue.platform_id).exclude(pk=queue.pk)
        self.fields["overflow_queue"].queryset = others
        self.fields["out_of_hours_queue"].queryset = others
        self.fields["skill"].queryset = Skill.objects.filter(platform_id=queue.platform_id)
        for day, label in enumerate(WEEKDAY_LABELS):
            self.fields[f"hours_{day}"] = forms.CharField(
                label=label,
                required=False,
                max_length=200,
            )

    def clean(self):
        data = super().clean()
        weekly = {}
        for day in range(7):
            name = f"hours_{day}"
            if name in data:
                try:
                    weekly[str(day)] = parse_hours(data[name])
                except forms.ValidationError as error:
                    self.add_error(name, error)
        data["weekly_hours"] = weekly
        return data

    @property
    def hours_fields(self):
        return [self[f"hours_{day}"] for day in range(7)]

    def changes(self) -> dict:
        """The cleaned form as ``queue_update`` takes it."""
        data = self.cleaned_data
        fields = {
            name: data[name]
            for name in self.fields
            if not name.startswith("hours_") and name != "priority_numbers"
        }
        fields["weekly_hours"] = data["weekly_hours"]
        fields["priority_numbers"] = [
            line.strip()
            for line in re.split(r"[\n,，;；]+", data.get("priority_numbers") or "")
            if line.strip()
        ]
        return fields

    @classmethod
    def initial_of(cls, queue: Queue) -> dict:
        initial = {
            name: getattr(queue, name)
            for name in cls.base_fields
            if name not in ("priority_numbers",)
        }
        initial["priority_numbers"] = "\n".join(queue.priority_numbers or [])
        for day in range(7):
            initial[f"hours_{day}"] = hours_text((queue.weekly_hours or {}).get(str(day), []))
        return initial


def _platform_queue(request, pk: int) -> Queue:
    return get_object_or_404(Queue, pk=pk, platform_id=request.user.platform_id)


@requires("contact.configure")
def queues(request):
    rows = []
    for queue in Queue.objects.filter(platform_id=request.user.platform_id).select_related(
        "skill", "overflow_queue"
    ):
        rows.append(
            {
                "queue": queue,
                "hours": hours_summary(queue.weekly_hours),
                "figures": selectors.queue_figures(queue),
            }
        )
    return render(request, "contact/floor/queues.html", {"rows": rows})


@requires("contact.configure")
def queue_edit(request, pk: int):
    queue = _platform_queue(request, pk)
    if request.method == "POST":
        form = QueueForm(request.POST, queue=queue)
        if form.is_valid():
            ok, _ = attempt(
                request,
                lambda: services.queue_update(actor=request.user, queue=queue, **form.changes()),
                form=form,
            )
            if ok:
                messages.success(request, f"队列“{form.cleaned_data['name']}”已保存，立即生效")
                return redirect("contact_queues")
    else:
        form = QueueForm(initial=QueueForm.initial_of(queue), queue=queue)
    return render(request, "contact/floor/queue_edit.html", {"queue": queue, "form": form})
