from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """统计分析: KPIs computed from the stored facts, assessment schemes (考核), reports,
    hot topics and the monitoring wall (大屏)."""

    name = "hotline.analytics"
    label = "analytics"
    verbose_name = "统计分析"

    def ready(self):
        from hotline.core import reference
        from hotline.core.audit import ACTION_LABELS

        from . import kpis
        from .models import AUDIT_LABELS

        ACTION_LABELS.update(AUDIT_LABELS)  # the audit viewer's names of this app's acts
        kpis.check_declarations()
        reference.GENERATED["kpis.md"] = kpis.markdown  # docs/kpis.md, by `make docs`
