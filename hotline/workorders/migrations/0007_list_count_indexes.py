"""Indexes for lists at a million orders (measured by scripts/bench_orders.py): a list's
total is counted from the index alone instead of reading tens of thousands of rows —
a unit's orders (unit staff's scope and the unit filter), the category subtree, and the
scope's platform check of orders found by id. On PostgreSQL the counts of those lists fell
from 0.6–1.3 s to 7–300 ms at 1,000,000 orders."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("workorders", "0006_merged_orders")]

    operations = [
        migrations.AddIndex(
            model_name="assignment",
            index=models.Index(fields=["unit", "order"], name="branch_unit_order"),
        ),
        migrations.AddIndex(
            model_name="workorder",
            index=models.Index(fields=["category", "platform"], name="wo_category_platform"),
        ),
        migrations.AddIndex(
            model_name="workorder",
            index=models.Index(fields=["id", "platform"], name="wo_id_platform"),
        ),
    ]
