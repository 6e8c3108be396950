from django.apps import AppConfig


class WorkOrdersConfig(AppConfig):
    name = "hotline.workorders"
    label = "workorders"
    verbose_name = "工单"

    def ready(self):
        from hotline import search
        from hotline.core import reference
        from hotline.core.audit import ACTION_LABELS

        from . import panels
        from . import reference as lifecycle_reference
        from .lifecycle import ACTIONS

        search.register(
            search.SearchIndex(
                "workorders.WorkOrder", substring_columns=("title", "content", "answer")
            )
        )
        reference.GENERATED["workorders.md"] = lifecycle_reference.lifecycle_markdown
        panels.register()  # the work-order panels of the role home pages

        from hotline.core import demo

        from .demo import demo_orders
        from .dispatching import demo_rules

        for loader in (demo_rules, demo_orders):  # rules first: they dispatch the orders
            if loader not in demo.DEMO_EXTENSIONS:
                demo.DEMO_EXTENSIONS.append(loader)
        ACTION_LABELS["workorder.create"] = "受理工单"
        ACTION_LABELS.update(
            {
                "dispatch_rule.create": "新建分派规则",
                "dispatch_rule.update": "修改分派规则",
                "dispatch_rule.delete": "删除分派规则",
                "dispatch_rule.apply": "按规则自动派单",
                "workorder.attachment": "上传工单附件",
                "workorder.export": "导出工单",
            }
        )
        for code, action in ACTIONS.items():
            ACTION_LABELS[f"workorder.{code}"] = f"工单{action.label}"
