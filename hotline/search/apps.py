from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SearchConfig(AppConfig):
    name = "hotline.search"
    label = "search"
    verbose_name = "全文检索"

    def ready(self):
        from .indexes import install_all

        post_migrate.connect(install_all, dispatch_uid="hotline.search.install_all")
