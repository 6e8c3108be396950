"""催办 became a permission of its own (agents pass on a citizen's 催单; 督办 stays with
supervisors): grant it to the roles that carry it by default."""

from django.db import migrations


def grant(apps, schema_editor):
    from hotline.core.roles import ROLES

    RolePermission = apps.get_model("core", "RolePermission")
    for role in ROLES.values():
        if "workorders.urge" in role.default_grants:
            RolePermission.objects.get_or_create(role=role.code, permission="workorders.urge")


class Migration(migrations.Migration):
    dependencies = [("workorders", "0003_attachment_dispatchrule_workorder_dispatch_rule_and_more")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
