"""Every write of the voice app: IVR flows (audited)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from hotline.contact.models import Queue
from hotline.core import audit
from hotline.core.errors import Conflict, Unprocessable
from hotline.core.models import Platform, User
from hotline.core.services import require

from . import ivr
from .models import IvrFlow


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
