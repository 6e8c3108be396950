from django.apps import AppConfig


class WorkOrdersConfig(AppConfig):
    name = "hotline.workorders"
    label = "workorders"
    verbose_name = "工单"

    def ready(self):
        from hotline.core import reference
        from hotline.core.audit import ACTION_LABELS

        from . import reference as lifecycle_reference
        from .lifecycle import ACTIONS

        reference.GENERATED["workorders.md"] = lifecycle_reference.lifecycle_markdown

        ACTION_LABELS["workorder.create"] = "受理工单"
        for code, action in ACTIONS.items():
            ACTION_LABELS[f"workorder.{code}"] = f"工单{action.label}"
