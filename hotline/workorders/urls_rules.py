"""Routes of one work-order area (see urls.py): auto-dispatch rules and the citizens'
public progress lookup (no sign-in)."""

from django.urls import path

from .views import public, rules

urlpatterns = [
    path("dispatch-rules/", rules.rule_list, name="dispatch_rules"),
    path("dispatch-rules/new/", rules.rule_new, name="dispatch_rule_new"),
    path("dispatch-rules/test/", rules.rule_test, name="dispatch_rule_test"),
    path("dispatch-rules/<int:pk>/", rules.rule_edit, name="dispatch_rule_edit"),
    path("track/", public.track, name="public_track"),
]
