"""The demo's historical orders are real facts: made through the services, with states
that chain and timestamps that move forward and never lie in the future."""

from django.utils import timezone

from hotline.core import demo
from hotline.workorders.models import WorkOrder


def test_demo_orders_are_consistent_histories(db):
    summary = demo.load_demo(orders=60)
    assert summary["orders"] == {"requested": 60, "created": 60}
    orders = WorkOrder.objects.prefetch_related("events")
    assert orders.count() == 60
    assert len({o.state for o in orders}) >= 3  # answered, in progress, archived …
    now = timezone.now()
    for order in orders:
        events = list(order.events.order_by("at", "pk"))
        assert events[0].action == "create" and events[0].to_state
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_state == before.to_state, order.number
            assert after.at >= before.at, order.number
        assert events[-1].to_state == order.state
        assert events[-1].at <= now
