"""The defaults a new hotline starts with: the SLA table (R-STD-7), the request category
tree (data/categories.json) and the work-order permissions of the business roles."""

import json
from pathlib import Path

from django.db import migrations

CATEGORIES = Path(__file__).resolve().parent.parent / "data" / "categories.json"


def seed(apps, schema_editor):
    from hotline.core.roles import ROLES
    from hotline.workorders.sla import DEFAULT_RULES

    RolePermission = apps.get_model("core", "RolePermission")
    SlaRule = apps.get_model("workorders", "SlaRule")
    Category = apps.get_model("workorders", "Category")
    for role in ROLES.values():
        for code in role.default_grants:
            if code.startswith("workorders."):
                RolePermission.objects.get_or_create(role=role.code, permission=code)
    if not SlaRule.objects.exists():
        SlaRule.objects.bulk_create(
            SlaRule(stage=r.stage, order_type=r.order_type, urgency=r.urgency,
                    public_utility=r.public_utility, amount=r.amount, measure=r.measure)
            for r in DEFAULT_RULES
        )
    if not Category.objects.exists():
        tree = json.loads(CATEGORIES.read_text(encoding="utf-8"))["categories"]

        def add(nodes, parent):
            for node in nodes:
                made = Category.objects.create(parent=parent, code=node["code"], name=node["name"],
                                               public_utility=node.get("public_utility", False))
                add(node.get("children", []), made)

        add(tree, None)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0001_initial"), ("core", "0002_audit_append_only_and_defaults")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
