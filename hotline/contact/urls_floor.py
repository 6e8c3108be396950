"""Routes of the supervisor seat (班长席), the queues' routing settings and the channel
entries (渠道接入)."""

from django.urls import path

from . import views_entries, views_floor

urlpatterns = [
    path("floor/", views_floor.floor, name="contact_floor"),
    path("floor/queues/", views_floor.queues, name="contact_queues"),
    path("floor/queues/<int:pk>/", views_floor.queue_edit, name="contact_queue_edit"),
    path("floor/channels/", views_entries.entries, name="contact_entries"),
    path("floor/channels/new/", views_entries.entry_new, name="contact_entry_new"),
    path("floor/channels/<int:pk>/", views_entries.entry_edit, name="contact_entry_edit"),
]
