from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "hotline.core"
    label = "core"
    verbose_name = "组织与安全"

    def ready(self):
        from django.contrib import admin

        from . import immutability
        from .admin import HotlineAdminSite

        connection_created.connect(immutability.register_sqlite_function)
        admin.site.__class__ = HotlineAdminSite  # the default site, with our access rule
