"""Pages of analytics: each area has its own routes module."""

from django.urls import include, path

urlpatterns = [
    path("", include("hotline.analytics.urls_kpi")),
    path("", include("hotline.analytics.urls_hot")),
    path("", include("hotline.analytics.urls_assess")),
    path("", include("hotline.analytics.urls_wall")),
    path("", include("hotline.analytics.urls_reports")),
]
