"""Pages of the contact center: a message's file (staff), the workbench, the supervisor
seat, and the citizen's web chat."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("contact/messages/<int:pk>/file", views.message_file, name="contact_message_file"),
    path("contact/callbacks/", views.callbacks, name="contact_callbacks"),
    path("", include("hotline.contact.urls_desk")),
    path("", include("hotline.contact.urls_floor")),
    path("", include("hotline.contact.urls_webchat")),
    path("", include("hotline.contact.urls_channels")),
]
