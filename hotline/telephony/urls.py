from django.urls import path

from . import views

urlpatterns = [
    path("voice/recordings/<int:pk>.wav", views.recording_file, name="voice_recording"),
]
