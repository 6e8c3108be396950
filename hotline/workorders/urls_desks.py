"""Routes of the work queues: 派单台, 本单位工单, 回访台 and their quick actions."""

from django.urls import path

from .views import desks

urlpatterns = [
    path("dispatch/", desks.dispatch_desk, name="dispatch_desk"),
    path("unit/", desks.unit_portal, name="unit_portal"),
    path("callbacks/", desks.callback_desk, name="callback_desk"),
    path("desk/<str:number>/<str:action>/", desks.desk_action, name="desk_action"),
]
