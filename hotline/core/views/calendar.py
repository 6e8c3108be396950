"""工作日历: the month grid, the year's holidays and 调休 days, a deadline calculator for
everyone who may view the calendar, and the system admin's maintenance forms."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from hotline.web import pages

from .. import selectors, services, workdays
from ..models import CalendarDay

WEEKDAYS = "一二三四五六日"
YEARS = (2000, 2100)


# --- forms ------------------------------------------------------------------------------------


class MonthForm(forms.Form):
    year = forms.IntegerField(
        min_value=YEARS[0],
        max_value=YEARS[1],
        required=False,
        error_messages={
            "invalid": "年份须为数字",
            "min_value": "年份须在 2000–2100 之间",
            "max_value": "年份须在 2000–2100 之间",
        },
    )
    month = forms.IntegerField(
        min_value=1,
        max_value=12,
        required=False,
        error_messages={
            "invalid": "月份须为数字",
            "min_value": "月份须在 1–12 之间",
            "max_value": "月份须在 1–12 之间",
        },
    )


class DeadlineForm(forms.Form):
    """期限计算: N working days / N working hours after a moment (read-only)."""

    start = forms.DateTimeField(
        label="起算时间",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": "请填写起算时间", "invalid": "起算时间格式不正确"},
    )
    days = forms.IntegerField(
        label="工作日数",
        required=False,
        min_value=0,
        max_value=365,
        error_messages={
            "invalid": "工作日数须为整数",
            "min_value": "工作日数不能为负",
            "max_value": "工作日数不能超过 365",
        },
    )
    hours = forms.DecimalField(
        label="工作小时数",
        required=False,
        min_value=0,
        max_value=2000,
        decimal_places=2,
        error_messages={
            "invalid": "工作小时数须为数字",
            "min_value": "工作小时数不能为负",
            "max_value": "工作小时数不能超过 2000",
            "max_decimal_places": "工作小时数最多两位小数",
        },
    )

    def clean_start(self):
        return _in_range(self.cleaned_data["start"], "起算时间")

    def clean(self):
        data = super().clean()
        if data.get("days") is None and data.get("hours") is None and not self.errors:
            raise forms.ValidationError("请填写工作日数或工作小时数")
        return data


def _in_range(value, label: str):
    """Dates far outside the calendar would overflow the working-day arithmetic."""
    if value is not None and not YEARS[0] <= value.year <= YEARS[1]:
        raise forms.ValidationError(f"{label}须在 {YEARS[0]}–{YEARS[1]} 年之间")
    return value


class DaySetForm(forms.Form):
    date = forms.DateField(
        label="日期",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "请选择日期", "invalid": "日期格式不正确，应为 YYYY-MM-DD"},
    )
    kind = forms.ChoiceField(
        label="类型",
        choices=CalendarDay.Kind.choices,
        error_messages={"invalid_choice": "类型须为“放假”或“调休上班”"},
    )
    name = forms.CharField(
        label="名称",
        max_length=30,
        widget=forms.TextInput(attrs={"placeholder": "如：国庆节、春节调休上班"}),
        error_messages={"required": "请填写名称，如“国庆节”"},
    )
    provisional = forms.BooleanField(label="待国务院公布后核对", required=False)

    def clean_date(self):
        return _in_range(self.cleaned_data["date"], "日期")


# --- page -------------------------------------------------------------------------------------


def _shift(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def _periods(days) -> list[dict]:
    """Consecutive days of the same kind and name, as one row of the year list."""
    periods: list[dict] = []
    for day in days:
        last = periods[-1] if periods else None
        if (
            last
            and last["kind"] == day.kind
            and last["name"] == day.name
            and (day.date - last["days"][-1].date).days <= 1
        ):
            last["days"].append(day)
        else:
            periods.append({"kind": day.kind, "name": day.name, "days": [day]})
    for period in periods:
        period["start"], period["end"] = period["days"][0].date, period["days"][-1].date
        period["provisional"] = any(d.provisional for d in period["days"])
        period["kind_label"] = CalendarDay.Kind(period["kind"]).label
    return periods


def _deadline(form: DeadlineForm) -> dict | None:
    if not form.is_bound or not form.is_valid():
        return None
    start, days, hours = (form.cleaned_data[k] for k in ("start", "days", "hours"))
    result = {"start": start}
    if days is not None:
        due = workdays.add_working_days(start, days)
        result["days"], result["due_days"] = days, due
        result["due_days_weekday"] = "星期" + WEEKDAYS[due.weekday()]
    if hours is not None:
        due = workdays.add_working_hours(start, float(hours))
        result["hours"], result["due_hours"] = hours.normalize(), due
        result["due_hours_weekday"] = "星期" + WEEKDAYS[timezone.localtime(due).weekday()]
    return result


def _render(request, *, day_form=None, status=200):
    today = timezone.localdate()
    month_form = MonthForm(request.GET)
    if not month_form.is_valid():
        status = 400
        year, month = today.year, today.month
    else:
        year = month_form.cleaned_data["year"] or today.year
        month = month_form.cleaned_data["month"] or (today.month if year == today.year else 1)
    deadline_form = DeadlineForm(
        request.GET if "start" in request.GET else None,
        initial={"start": timezone.localtime().replace(second=0, microsecond=0)},
    )
    deadline = _deadline(deadline_form)
    if deadline_form.is_bound and deadline is None:
        status = 400
    can_manage = request.user.can("calendar.manage")
    if can_manage and day_form is None:
        day_form = DaySetForm(initial=_day_initial(request.GET.get("date")))
    days = list(selectors.calendar_days(year))
    previous, following = _shift(year, month, -1), _shift(year, month, 1)
    return render(
        request,
        "core/calendar/calendar.html",
        {
            "year": year,
            "month": month,
            "weeks": selectors.calendar_month(year, month),
            "weekdays": WEEKDAYS,
            "previous": {"year": previous[0], "month": previous[1]},
            "following": {"year": following[0], "month": following[1]},
            "today": today,
            "periods": _periods(days),
            "holiday_count": sum(1 for d in days if d.kind == CalendarDay.Kind.HOLIDAY),
            "workday_count": sum(1 for d in days if d.kind == CalendarDay.Kind.WORKDAY),
            "has_provisional": any(d.provisional for d in days),
            "month_form": month_form,
            "deadline_form": deadline_form,
            "deadline": deadline,
            "hours_per_day": workdays.current().hours_per_day,
            "working_hours": workdays.current().windows,
            "can_manage": can_manage,
            "day_form": day_form,
            "shipped_count": len(workdays.shipped_days()) if can_manage else 0,
        },
        status=status,
    )


def _day_initial(value: str | None) -> dict:
    """Pre-fill the maintenance form from a day clicked in the grid (?date=YYYY-MM-DD)."""
    try:
        day = dt.date.fromisoformat(value or "")
    except ValueError:
        return {}
    entry = selectors.calendar_days(day.year).filter(date=day).first()
    if entry is None:
        kind = CalendarDay.Kind.WORKDAY if day.weekday() >= 5 else CalendarDay.Kind.HOLIDAY
        return {"date": day, "kind": kind}
    return {"date": day, "kind": entry.kind, "name": entry.name, "provisional": entry.provisional}


@pages.requires("calendar.view", "calendar.manage")
@require_http_methods(["GET"])
def calendar(request):
    return _render(request)


# --- maintenance (系统管理员) -------------------------------------------------------------------


def _month_url(day: dt.date) -> str:
    return f"{reverse('calendar')}?year={day.year}&month={day.month}"


@pages.requires("calendar.manage")
@require_POST
def day_set(request):
    form = DaySetForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        ok, _ = pages.attempt(
            request,
            lambda: services.calendar_day_set(
                actor=request.user,
                date=data["date"],
                kind=data["kind"],
                name=data["name"],
                provisional=data["provisional"],
            ),
            success=f"已将 {data['date']:%Y-%m-%d} 设为{CalendarDay.Kind(data['kind']).label}"
            f"（{data['name'].strip()}）。",
            form=form,
        )
        if ok:
            return redirect(_month_url(data["date"]))
    return _render(request, day_form=form, status=400)


@pages.requires("calendar.manage")
@require_POST
def day_remove(request, day):
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise Http404("日期格式不正确，应为 YYYY-MM-DD") from None
    pages.attempt(
        request,
        lambda: services.calendar_day_remove(actor=request.user, date=date),
        success=f"已删除 {date:%Y-%m-%d} 的安排，该日恢复按星期计算。",
    )
    return redirect(_month_url(date))


@pages.requires("calendar.manage")
@require_POST
def load_shipped(request):
    ok, added = pages.attempt(request, lambda: services.calendar_load_shipped(actor=request.user))
    if ok:
        if added:
            messages.success(request, f"已导入内置节假日与调休安排 {added} 天。")
        else:
            messages.info(request, "内置的节假日与调休安排均已在日历中，没有新增。")
    return redirect("calendar")
