from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    """语音: the SIP media node (IVR, queue, agent phones, recording), trunks and prompts."""

    name = "hotline.telephony"
    label = "telephony"
    verbose_name = "语音"

    def ready(self):
        from hotline.core import demo

        from .demo import demo_voice

        if demo_voice not in demo.DEMO_EXTENSIONS:
            demo.DEMO_EXTENSIONS.append(demo_voice)
