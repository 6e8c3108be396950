from django.apps import AppConfig


class ContactConfig(AppConfig):
    name = "hotline.contact"
    label = "contact"
    verbose_name = "联络中心"

    def ready(self):
        from hotline.core import demo
        from hotline.core.audit import ACTION_LABELS

        from . import connectors, lifecycle
        from .demo import demo_contact
        from .services import AUDIT_LABELS

        lifecycle.check_declarations()
        connectors.load()
        ACTION_LABELS.update(AUDIT_LABELS)
        if demo_contact not in demo.DEMO_EXTENSIONS:
            demo.DEMO_EXTENSIONS.append(demo_contact)
