from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "hotline.groups"
    label = "groups"
    verbose_name = "群组交互"

    def ready(self):
        from hotline.core.audit import ACTION_LABELS

        from .services import AUDIT_LABELS

        ACTION_LABELS.update(AUDIT_LABELS)
