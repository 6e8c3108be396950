"""Routes of the channels' services into the hotline (渠道回调)."""

from django.urls import path

from . import views_channels as views

urlpatterns = [
    path("channels/<slug:platform>/<slug:entry>/", views.channel_webhook, name="channel_webhook"),
    path(
        "channels/<slug:platform>/<slug:entry>/<slug:action>",
        views.channel_webhook,
        name="channel_webhook_action",
    ),
]
