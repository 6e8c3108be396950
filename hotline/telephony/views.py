"""Pages of the voice app: playing a call's recording, and 电话回拨 from a callback task."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect
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
        filename=f"录音-{recording.session.ref}.wav",
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
