"""Password authentication with lockout, shared by every door that takes a password
(the login page and Django admin), and bearer-token authentication for the API."""

import datetime as dt
import hashlib

from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import audit
from .models import ApiToken, SecurityPolicy, User


class LockoutBackend(ModelBackend):
    """After N consecutive failures the account is locked for M minutes (安全策略)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        user = User.objects.filter(username=username).first()
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        now = timezone.now()
        if user.is_locked(now):
            audit.record("auth.login_refused_locked", user, actor=user)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            if user.failed_logins or user.locked_until:
                User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
                user.failed_logins, user.locked_until = 0, None
            return user
        self._register_failure(user, now)
        return None

    @staticmethod
    def _register_failure(user: User, now: dt.datetime) -> None:
        policy = SecurityPolicy.current()
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
            failures = User.objects.values_list("failed_logins", flat=True).get(pk=user.pk)
            detail = {"failures": failures}
            if failures >= policy.lockout_threshold:
                until = now + dt.timedelta(minutes=policy.lockout_minutes)
                User.objects.filter(pk=user.pk).update(locked_until=until, failed_logins=0)
                detail["locked_until"] = until.isoformat()
                audit.record("auth.locked", user, detail=detail, actor=user)
            else:
                audit.record("auth.login_failed", user, detail=detail, actor=user)

    def get_user_permissions(self, user_obj, obj=None):
        return set()  # rights come from hotline roles (roles.py), not Django permissions

    def get_group_permissions(self, user_obj, obj=None):
        return set()


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def user_for_token(key: str) -> User | None:
    """The active user owning an active token, or None. Marks the token used."""
    if not key or len(key) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__platform")
        .filter(key_hash=hash_token(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
