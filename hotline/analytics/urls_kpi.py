"""Pages of the KPI registry (指标一览, 指标明细, 指标定义)."""

from django.urls import path

from . import views_kpi

urlpatterns = [
    path("analytics/kpis/", views_kpi.kpi_list, name="kpis"),
    path("analytics/kpis/export/", views_kpi.kpi_export, name="kpi_export"),
    path("analytics/kpis/definitions/", views_kpi.kpi_definitions, name="kpi_definitions"),
    path("analytics/kpis/<slug:kpi_id>/records", views_kpi.kpi_records, name="kpi_records"),
]
