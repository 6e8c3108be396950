"""Routes of 热点分析 (see urls.py): the page and its export."""

from django.urls import path

from . import views_hot

urlpatterns = [
    path("analytics/hot/", views_hot.hot_topics, name="hot_topics"),
    path("analytics/hot/export/", views_hot.hot_export, name="hot_export"),
]
