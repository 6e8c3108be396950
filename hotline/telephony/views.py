"""Pages of the voice app: playing a call's recording."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404

from hotline.core.errors import NotFound

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
