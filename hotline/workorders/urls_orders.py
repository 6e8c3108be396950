"""Routes of one work-order area (see urls.py): intake, list and export, the order page."""

from django.urls import path

from .views import orders

urlpatterns = [
    path("orders/", orders.order_list, name="orders"),
    path("orders/new/", orders.order_create, name="order_create"),
    path("orders/export/", orders.order_export, name="order_export"),
    path("orders/<str:number>/", orders.order_detail, name="order_detail"),
    path("orders/<str:number>/actions/<str:action>/", orders.order_action, name="order_action"),
    path("orders/<str:number>/fax/", orders.order_fax, name="order_fax"),
    path(
        "orders/<str:number>/attachments/<int:pk>/",
        orders.order_attachment,
        name="order_attachment",
    ),
]
