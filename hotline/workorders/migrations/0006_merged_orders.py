"""并单: a duplicate order closes into an open one (state ``merged``, ``merged_into``), and
the new permission is granted to the roles that carry it by default."""

import django.db.models.deletion
from django.db import migrations, models

import hotline.workorders.lifecycle


def grant(apps, schema_editor):
    from hotline.core.roles import ROLES

    RolePermission = apps.get_model("core", "RolePermission")
    for role in ROLES.values():
        if "workorders.merge" in role.default_grants:
            RolePermission.objects.get_or_create(role=role.code, permission="workorders.merge")


class Migration(migrations.Migration):
    dependencies = [("workorders", "0005_search_text")]

    operations = [
        migrations.AddField(
            model_name="workorder",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="merged_orders",
                to="workorders.workorder",
                verbose_name="并入工单",
            ),
        ),
        migrations.AlterField(
            model_name="workorder",
            name="state",
            field=models.CharField(
                choices=[
                    ("submitted", "待派单"),
                    ("dispatched", "待签收"),
                    ("handling", "办理中"),
                    ("return_pending", "退单待审"),
                    ("replied", "办结待审"),
                    ("callback_pending", "待回访"),
                    ("unsatisfied", "回访不满意"),
                    ("completed", "已办结"),
                    ("archived", "已归档"),
                    ("cancelled", "已销单"),
                    ("merged", "已并单"),
                ],
                db_index=True,
                default=hotline.workorders.lifecycle.State["SUBMITTED"],
                max_length=20,
                verbose_name="状态",
            ),
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
