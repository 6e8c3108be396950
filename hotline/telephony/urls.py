from django.urls import path

from . import views, views_ivr

urlpatterns = [
    path("voice/recordings/", views.recordings, name="voice_recordings"),
    path("voice/recordings/<int:pk>.wav", views.recording_file, name="voice_recording"),
    path("voice/callbacks/<int:session_id>/dial", views.callback_dial, name="voice_callback_dial"),
    path("voice/orders/<str:number>/dial", views.order_dial, name="voice_order_dial"),
    path("voice/phone", views.phone_update, name="voice_phone"),
]

# IVR 流程编辑 and 录音提示音 (views_ivr)
urlpatterns += [
    path("voice/flows/", views_ivr.flow_list, name="voice_flows"),
    path("voice/flows/new/", views_ivr.flow_new, name="voice_flow_new"),
    path("voice/flows/<int:pk>/", views_ivr.flow_edit, name="voice_flow_edit"),
    path("voice/prompts/tts.wav", views_ivr.prompt_tts, name="voice_prompt_tts"),
    path("voice/prompts/upload", views_ivr.prompt_upload, name="voice_prompt_upload"),
    path(
        "voice/prompts/recordings/<str:name>",
        views_ivr.prompt_recording_file,
        name="voice_prompt_recording",
    ),
]
