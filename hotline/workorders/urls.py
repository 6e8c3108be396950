"""Pages of work orders; each area's routes live in its own module."""

from django.urls import include, path

urlpatterns = [
    path("", include("hotline.workorders.urls_orders")),  # list, intake, order page
    path("", include("hotline.workorders.urls_desks")),  # dispatch desk, unit portal, callbacks
    path("", include("hotline.workorders.urls_rules")),  # auto-dispatch rules, public lookup
]
