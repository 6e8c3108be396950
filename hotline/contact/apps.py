from django.apps import AppConfig


class ContactConfig(AppConfig):
    name = "hotline.contact"
    label = "contact"
    verbose_name = "联络中心"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from hotline.core import demo
        from hotline.core.audit import ACTION_LABELS
        from hotline.core.models import UserSkill

        from . import connectors, lifecycle
        from .acd import routing_settings
        from .demo import demo_contact
        from .models import Queue
        from .services import AUDIT_LABELS

        lifecycle.check_declarations()
        connectors.load()
        ACTION_LABELS.update(AUDIT_LABELS)
        if demo_contact not in demo.DEMO_EXTENSIONS:
            demo.DEMO_EXTENSIONS.append(demo_contact)
        # routing reads queue settings and skill levels from a short-lived cache
        for model in (Queue, UserSkill):
            for signal in (post_save, post_delete):
                signal.connect(
                    routing_settings.clear, sender=model, dispatch_uid=f"acd-{model}-{signal}"
                )
