"""Form pieces the pages share."""

from django import forms


class DateRangeForm(forms.Form):
    """A filter bar's 开始日期 – 结束日期 (either may be left out; never reversed)."""

    start = forms.DateField(
        label="开始日期",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "开始日期格式不正确，应为 YYYY-MM-DD"},
    )
    end = forms.DateField(
        label="结束日期",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "结束日期格式不正确，应为 YYYY-MM-DD"},
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError("开始日期不能晚于结束日期")
        return data
