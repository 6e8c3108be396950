"""The demo hotline's telephone side: the default IVR flow of its hotline number, into the
综合咨询 queue of the first demo platform that has one (the contact center's demo loader
runs first). A number leads to one flow: the node answers it for one platform."""

from hotline.contact.models import Queue

from . import services
from .models import IvrFlow


def demo_voice(context: dict) -> None:
    """The DEMO_EXTENSIONS loader."""
    made = 0
    for platform in context["platforms"].values():
        queue = Queue.objects.filter(platform=platform, code="general").first()
        number = platform.hotline_number or "12345"
        if queue is None or IvrFlow.objects.filter(number=number, is_active=True).exists():
            continue
        services.default_flow_create(platform=platform, queue=queue, number=number)
        made += 1
    context["created"]["ivr_flows"] = made
