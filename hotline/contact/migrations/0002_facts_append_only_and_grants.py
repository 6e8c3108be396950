"""The fact log made append-only in the database; the contact-center permissions granted
to the roles that carry them by default."""

from django.db import migrations

from hotline.contact import immutability


def grant(apps, schema_editor):
    from hotline.core.roles import ROLES

    RolePermission = apps.get_model("core", "RolePermission")
    for role in ROLES.values():
        for permission in role.default_grants:
            if permission.startswith("contact."):
                RolePermission.objects.get_or_create(role=role.code, permission=permission)


class Migration(migrations.Migration):
    dependencies = [("contact", "0001_initial"), ("core", "0004_delivery")]

    operations = [
        migrations.RunPython(immutability.install, immutability.uninstall),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
