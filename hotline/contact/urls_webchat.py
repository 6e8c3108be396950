"""Routes of the citizen's web chat (网页在线咨询): the page, its upload, the link to a
message's file, and the example site that embeds the widget."""

from django.urls import path

from . import views_webchat as views

urlpatterns = [
    # before the entry's routes: "file" would otherwise be taken for a platform code
    path("chat/file/<str:signed>/", views.webchat_file, name="webchat_file"),
    path("chat/<slug:platform>/<slug:entry>/", views.webchat_page, name="webchat_page"),
    path("chat/<slug:platform>/<slug:entry>/upload", views.webchat_upload, name="webchat_upload"),
    path(
        "chat/<slug:platform>/<slug:entry>/demo-site",
        views.webchat_demo_site,
        name="webchat_demo_site",
    ),
]
