"""WebSocket routes of every context (agent desk, supervisor, wall, media nodes)."""

from django.urls import path

from hotline.core.consumers import NotificationConsumer

websocket_urlpatterns: list = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]
