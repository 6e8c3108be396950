from django.apps import AppConfig


class ContactConfig(AppConfig):
    name = "hotline.contact"
    label = "contact"
    verbose_name = "联络中心"

    def ready(self):
        from hotline.core.audit import ACTION_LABELS

        from . import lifecycle
        from .services import AUDIT_LABELS

        lifecycle.check_declarations()
        ACTION_LABELS.update(AUDIT_LABELS)
