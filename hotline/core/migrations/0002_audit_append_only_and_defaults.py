"""Audit log made append-only in the database; default role grants, security policy and
the shipped working-day calendar."""

from django.db import migrations

from hotline.core import immutability


def seed_defaults(apps, schema_editor):
    from hotline.core.roles import ROLES
    from hotline.core.workdays import shipped_days

    RolePermission = apps.get_model("core", "RolePermission")
    SecurityPolicy = apps.get_model("core", "SecurityPolicy")
    CalendarDay = apps.get_model("core", "CalendarDay")
    for role in ROLES.values():
        for code in role.default_grants:
            RolePermission.objects.get_or_create(role=role.code, permission=code)
    if not SecurityPolicy.objects.exists():
        SecurityPolicy.objects.create()
    known = set(CalendarDay.objects.values_list("date", flat=True))
    CalendarDay.objects.bulk_create(
        [CalendarDay(**row) for row in shipped_days() if row["date"] not in known]
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(immutability.install, immutability.uninstall),
        migrations.RunPython(seed_defaults, migrations.RunPython.noop),
    ]
