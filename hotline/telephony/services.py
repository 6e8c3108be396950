"""Every write of the voice app: IVR flows (audited) and call recordings."""

import pathlib

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from hotline.contact.models import Queue
from hotline.contact.selectors import session_for
from hotline.core import audit
from hotline.core.errors import Conflict, NotFound, Unprocessable
from hotline.core.models import Platform, User
from hotline.core.services import require

from . import ivr
from .models import CallRecording, IvrFlow


def ivr_flow_save(
    *,
    actor: User | None,
    platform: Platform,
    code: str,
    name: str,
    number: str,
    start: str,
    nodes: dict,
    is_active: bool = True,
) -> IvrFlow:
    """Create or replace the flow ``code`` of ``platform`` after checking it."""
    require(actor, "contact.configure")
    code, name, number = code.strip(), name.strip(), number.strip()
    if not code or not name or not number.isdigit():
        raise Unprocessable("请填写流程代码、名称和数字接入号码")
    queue_codes = set(Queue.objects.filter(platform=platform).values_list("code", flat=True))
    ivr.check(start, nodes, queue_codes)
    try:
        with transaction.atomic():
            flow = IvrFlow.objects.select_for_update().filter(platform=platform, code=code).first()
            before = audit.snapshot(flow) if flow else None
            flow = flow or IvrFlow(platform=platform, code=code)
            flow.name, flow.number, flow.start, flow.nodes = name, number, start, nodes
            flow.is_active, flow.updated_at = is_active, timezone.now()
            flow.save()
            audit.record(
                "telephony.ivr.save",
                flow,
                before=before,
                after=audit.snapshot(flow),
                actor=actor,
            )
    except IntegrityError:
        raise Conflict(f"号码 {number} 已有启用的流程") from None
    return flow


def default_flow_create(*, platform: Platform, queue: Queue, number: str = "12345") -> IvrFlow:
    """The shipped flow for ``number`` into ``queue`` (for the demo data and first runs)."""
    start, nodes = ivr.default_nodes(queue.code)
    return ivr_flow_save(
        actor=None,
        platform=platform,
        code="default",
        name="默认来电流程",
        number=number,
        start=start,
        nodes=nodes,
    )


def recording_add(
    *, session_id: int, agent_id: int | None, file: str, started_at, seconds: float, size: int
) -> CallRecording:
    """A bridged call's recording, written by the media node, filed with its session."""
    return CallRecording.objects.create(
        session_id=session_id,
        agent_id=agent_id,
        file=file,
        started_at=started_at,
        seconds=round(seconds, 2),
        size=size,
    )


def recording_open(*, actor: User, recording: CallRecording) -> pathlib.Path:
    """Whoever may open the call's session may play its recording; each play is audited
    (录音调听留痕)."""
    session_for(actor, recording.session_id)  # NotFound for anyone else
    path = pathlib.Path(settings.MEDIA_ROOT) / recording.file
    if not path.is_file():
        raise NotFound("录音文件已丢失")
    audit.record("telephony.recording.play", recording, actor=actor)
    return path
