from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    """语音: the SIP media node (IVR, queue, agent phones, recording), trunks and prompts."""

    name = "hotline.telephony"
    label = "telephony"
    verbose_name = "语音"

    def ready(self):
        from hotline.core import demo
        from hotline.core.audit import ACTION_LABELS

        from .demo import demo_voice
        from .services import AUDIT_LABELS

        ACTION_LABELS.update(AUDIT_LABELS)  # the audit viewer's names of this app's acts

        if demo_voice not in demo.DEMO_EXTENSIONS:
            demo.DEMO_EXTENSIONS.append(demo_voice)
