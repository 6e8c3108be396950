"""Routes of 监控大屏 (see urls.py)."""

from django.urls import path

from . import views_wall

urlpatterns = [
    path("analytics/wall/", views_wall.wall_page, name="wall"),
]
