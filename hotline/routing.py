"""WebSocket routes of every context (agent desk, supervisor, wall, media nodes)."""

from django.urls import path

from hotline.analytics.consumers_wall import WallConsumer
from hotline.contact.consumers import DeskConsumer, WebchatConsumer
from hotline.core.consumers import NotificationConsumer
from hotline.groups.consumers import GuestGroupConsumer, StaffGroupConsumer
from hotline.telephony.consumers import MediaNodeConsumer

websocket_urlpatterns: list = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/desk/", DeskConsumer.as_asgi()),
    path("ws/chat/<slug:platform>/<slug:entry>/", WebchatConsumer.as_asgi()),
    path("ws/groups/<int:group_id>/", StaffGroupConsumer.as_asgi()),
    path("ws/g/", GuestGroupConsumer.as_asgi()),
    path("ws/wall/", WallConsumer.as_asgi()),
    path("ws/medianode/", MediaNodeConsumer.as_asgi()),
]
