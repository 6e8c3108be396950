"""The knowledge-base permissions, granted to the roles that carry them by default."""

from django.db import migrations


def grant(apps, schema_editor):
    from hotline.core.roles import ROLES

    RolePermission = apps.get_model("core", "RolePermission")
    for role in ROLES.values():
        for permission in role.default_grants:
            if permission.startswith("kb."):
                RolePermission.objects.get_or_create(role=role.code, permission=permission)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial"), ("core", "0004_delivery")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
