"""Forms of the group pages (input shape only; the rules are in services)."""

from django import forms

from .services import INVITE_DAYS, NAME_LONGEST, NICKNAME_LONGEST, TOPIC_LONGEST


class GroupForm(forms.Form):
    name = forms.CharField(label="群组名称", max_length=NAME_LONGEST)
    topic = forms.CharField(
        label="群组话题",
        max_length=TOPIC_LONGEST,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="讨论的主题或说明，成员和受邀游客都能看到",
    )


class InviteForm(forms.Form):
    user = forms.IntegerField(label="邀请工作人员")


class LinkForm(forms.Form):
    days = forms.TypedChoiceField(
        label="有效期", coerce=int, choices=[(d, f"{d} 天") for d in INVITE_DAYS], initial=7
    )


class MemberForm(forms.Form):
    member = forms.IntegerField()


class JoinForm(forms.Form):
    nickname = forms.CharField(
        label="您的昵称",
        max_length=NICKNAME_LONGEST,
        help_text="群内成员将以此昵称称呼您，请勿填写身份证号、手机号等个人信息",
    )
