"""Pages of the voice app: 录音查询 and playing a call's recording, 电话回拨 from a
callback task and 电话外呼 from an order."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from hotline.contact.models import Session
from hotline.core.errors import NotFound
from hotline.web import pages
from hotline.web.forms import DateRangeForm

from . import digest, selectors, services
from .models import CallRecording


class RecordingFilterForm(DateRangeForm):
    agent = forms.TypedChoiceField(
        label="话务员",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "话务员取值不正确"},
    )
    kind = forms.ChoiceField(
        label="类型",
        required=False,
        choices=[("", "全部类型")]
        + [(code, label) for code, (label, _) in selectors.RECORDING_KINDS.items()],
        error_messages={"invalid_choice": "录音类型取值不正确"},
    )
    number = forms.RegexField(
        label="来电号码",
        required=False,
        regex=r"^\d{3,20}$",
        widget=forms.TextInput(attrs={"placeholder": "号码或其中连续几位", "inputmode": "tel"}),
        error_messages={"invalid": "来电号码须为 3–20 位数字"},
    )
    ref = forms.CharField(
        label="会话或工单编号",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"placeholder": "如 SY20261123000001"}),
    )
    min_seconds = forms.IntegerField(
        label="时长不少于（秒）",
        required=False,
        min_value=0,
        max_value=36000,
        error_messages={
            "invalid": "时长须为整数秒",
            "min_value": "时长不能为负数",
            "max_value": "时长不能超过 36000 秒",
        },
    )

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [("", "全部话务员")] + [
            (a.pk, a.display_name) for a in agents
        ]


@pages.requires("contact.supervise")
@require_http_methods(["GET"])
def recordings(request):
    """录音查询 for the floor's leaders and QA: find a call's recording by day, agent,
    number, session or order, kind and length; play or download it (each play audited)."""
    agents = selectors.recording_agents(request.user)
    form = RecordingFilterForm(request.GET or None, agents=agents)
    status = 200
    if form.is_bound and not form.is_valid():
        found, status = CallRecording.objects.none(), 400
    else:
        data = form.cleaned_data if form.is_bound else {}
        found = selectors.recordings_found(
            request.user,
            start=data.get("start"),
            end=data.get("end"),
            agent_id=data.get("agent"),
            number=data.get("number", ""),
            ref=data.get("ref", "").strip(),
            kind=data.get("kind", ""),
            min_seconds=data.get("min_seconds"),
        )
    page = pages.page_of(request, found, per_page=50)
    return render(
        request,
        "telephony/recordings.html",
        {"form": form, "page": page, "kinds": selectors.RECORDING_KINDS},
        status=status,
    )


@login_required
def recording_file(request, pk):
    """通话录音 (WAV), for whoever may open the call's session; audited."""
    recording = CallRecording.objects.filter(pk=pk).first()
    if recording is None:
        raise Http404("录音不存在")
    try:
        path = services.recording_open(actor=request.user, recording=recording)
    except NotFound as error:  # not this person's call: as if it did not exist
        raise Http404(error.message) from None
    download = request.GET.get("download") == "1"
    return FileResponse(
        path.open("rb"),
        as_attachment=download,
        filename=f"录音-{recording.ref}.wav",
        content_type="audio/wav",
    )


@pages.requires("contact.handle")
@require_POST
def callback_dial(request, session_id):
    """电话回拨 from the 回拨任务 page: the agent's phone rings first, then the citizen's."""
    session = Session.objects.filter(pk=session_id).first()
    if session is None:
        raise Http404("回拨任务不存在")
    pages.attempt(
        request,
        lambda: services.callback_call(actor=request.user, session=session),
        success=f"已发起电话回拨（{session.ref}）：请接听您的坐席话机，接起后系统呼叫来电人",
    )
    return redirect("contact_callbacks")


@pages.requires("workorders.callback")
@require_POST
def order_dial(request, number):
    """电话外呼 from the 回访台 or the order page: the agent's phone, then the caller's."""
    from hotline.workorders.models import WorkOrder

    order = WorkOrder.objects.filter(number=number).first()
    if order is None:
        raise Http404("工单不存在")
    pages.attempt(
        request,
        lambda: services.order_call(actor=request.user, order=order),
        success=f"已发起电话外呼（{order.number}）：请接听您的坐席话机，接起后系统呼叫来电人",
    )
    return _back(request, "order_detail", number=order.number)


@login_required
@require_http_methods(["GET", "POST"])
def phone_update(request):
    """我的话机: a fixed SIP address the calls ring (also in the desk's 状态设置 and on the
    回访台), or the extension and password a desk phone registers with, and whether it is
    registered now."""
    from hotline.contact.services import phone_set

    user = request.user
    if not (user.can("contact.handle") or user.can("workorders.callback")):
        raise PermissionDenied("您没有接听或外呼电话的权限")
    status = 200
    if request.method == "POST":
        if "extension" in request.POST:
            done, _ = pages.attempt(
                request,
                lambda: services.sip_account_set(
                    actor=user,
                    extension=request.POST.get("extension", ""),
                    password=request.POST.get("password", ""),
                ),
                success="话机注册账号已保存：请在话机上按下方说明设置并注册",
            )
        else:
            done, _ = pages.attempt(
                request,
                lambda: phone_set(actor=user, phone_uri=request.POST.get("phone_uri", "")),
                success="话机已保存",
            )
        if done:
            return _back(request, "voice_phone")
        status = 422
    account = selectors.sip_account_of(user)
    return render(
        request,
        "telephony/phone.html",
        {
            "fixed": selectors.fixed_phone_of(user.pk),
            "account": account,
            "registered": account is not None and account.registered(),
            "realm": digest.REALM,
            "nodes": selectors.voice_health()["nodes"],
            "extension": request.POST.get("extension", account.extension if account else ""),
        },
        status=status,
    )


def _back(request, fallback: str, **kwargs):
    """To the page the form was on (``next``, this site only), else ``fallback``."""
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect(fallback, **kwargs)
