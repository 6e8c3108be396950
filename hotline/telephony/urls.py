from django.urls import path

from . import views

urlpatterns = [
    path("voice/recordings/<int:pk>.wav", views.recording_file, name="voice_recording"),
    path("voice/callbacks/<int:session_id>/dial", views.callback_dial, name="voice_callback_dial"),
    path("voice/orders/<str:number>/dial", views.order_dial, name="voice_order_dial"),
    path("voice/phone", views.phone_update, name="voice_phone"),
]
