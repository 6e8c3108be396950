"""Routes of 统计报表: the page, 生成 (POST) and the download of a made file."""

from django.urls import path

from . import views_reports

urlpatterns = [
    path("analytics/reports/", views_reports.reports_page, name="reports"),
    path(
        "analytics/reports/<slug:report_id>/generate",
        views_reports.reports_generate,
        name="report_generate",
    ),
    path("analytics/reports/files/<str:name>", views_reports.reports_file, name="report_file"),
]
