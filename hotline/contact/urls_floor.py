"""Routes of the supervisor seat (班长席) and the queues' routing settings."""

from django.urls import path

from . import views_floor

urlpatterns = [
    path("floor/", views_floor.floor, name="contact_floor"),
    path("floor/queues/", views_floor.queues, name="contact_queues"),
    path("floor/queues/<int:pk>/", views_floor.queue_edit, name="contact_queue_edit"),
]
