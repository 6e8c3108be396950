from django.db import migrations, models


def index_existing(apps, schema_editor):
    """Segment the orders that exist already (the demo, an upgraded site)."""
    from hotline.search import index_text

    WorkOrder = apps.get_model("workorders", "WorkOrder")
    Assignment = apps.get_model("workorders", "Assignment")
    replies = {}
    for order_id, reply in Assignment.objects.exclude(reply="").values_list("order_id", "reply"):
        replies.setdefault(order_id, []).append(reply)
    batch = []
    for order in WorkOrder.objects.only("id", "title", "content", "answer").iterator():
        order.search_text = index_text(
            order.title, order.content, order.answer, *replies.get(order.id, [])
        )
        batch.append(order)
        if len(batch) >= 1000:
            WorkOrder.objects.bulk_update(batch, ["search_text"])
            batch = []
    WorkOrder.objects.bulk_update(batch, ["search_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("workorders", "0004_urge_permission"),
    ]

    operations = [
        migrations.AddField(
            model_name="workorder",
            name="search_text",
            field=models.TextField(blank=True, editable=False, verbose_name="检索词"),
        ),
        migrations.RunPython(index_existing, migrations.RunPython.noop),
    ]
