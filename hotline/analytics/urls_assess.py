"""Pages of the assessment (考核评分, 人工考核项)."""

from django.urls import path

from . import views_assess

urlpatterns = [
    path("analytics/assessments/", views_assess.scorecard, name="assessments"),
    path("analytics/assessments/export/", views_assess.scorecard_export, name="assessment_export"),
    path("analytics/assessments/store/", views_assess.scorecard_store, name="assessment_store"),
    path("analytics/assessments/manual/", views_assess.manual_list, name="assessment_manual"),
    path(
        "analytics/assessments/manual/new/",
        views_assess.manual_enter,
        name="assessment_manual_enter",
    ),
    path(
        "analytics/assessments/manual/<int:pk>/review/",
        views_assess.manual_review,
        name="assessment_manual_review",
    ),
    path(
        "analytics/assessments/manual/<int:pk>/attachment/",
        views_assess.manual_attachment,
        name="assessment_manual_attachment",
    ),
]
