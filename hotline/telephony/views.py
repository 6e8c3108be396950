"""Pages of the voice app: playing a call's recording, 电话回拨 from a callback task and
电话外呼 from an order."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hotline.contact.models import Session
from hotline.core.errors import NotFound
from hotline.web import pages

from . import services
from .models import CallRecording


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
@require_POST
def phone_update(request):
    """我的话机 (the 回访台's own setting; agents also have it in 状态设置)."""
    from hotline.contact.services import phone_set

    pages.attempt(
        request,
        lambda: phone_set(actor=request.user, phone_uri=request.POST.get("phone_uri", "")),
        success="话机已保存",
    )
    return _back(request, "home")


def _back(request, fallback: str, **kwargs):
    """To the page the form was on (``next``, this site only), else ``fallback``."""
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect(fallback, **kwargs)
