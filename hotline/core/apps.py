from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.backends.signals import connection_created


def audit_login(sender, request, user, **kwargs):
    """Every successful sign-in, whichever door (login page, Django admin), is audited."""
    from . import audit
    from .middleware import client_ip

    with audit.origin(actor=user, ip=client_ip(request) if request else None, channel="web"):
        audit.record("auth.login", user)


class CoreConfig(AppConfig):
    name = "hotline.core"
    label = "core"
    verbose_name = "组织与安全"

    def ready(self):
        from django.contrib import admin

        from . import immutability
        from .admin import HotlineAdminSite

        connection_created.connect(immutability.register_sqlite_function)
        user_logged_in.connect(audit_login, dispatch_uid="hotline.audit_login")
        admin.site.__class__ = HotlineAdminSite  # the default site, with our access rule
