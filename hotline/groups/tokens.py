"""Signed tokens of the citizen's side (the approach of the web chat's visitor token,
:mod:`hotline.contact.connectors.webchat`): Django's signer with a salt per purpose.

* the **invite token** names a group and one of its invite links (``/g/<token>/``); the
  link's row decides whether it may still be used (revoked, expired);
* the **guest token** names a member who joined through a link: the credential of the
  citizen's socket and uploads, kept in a cookie and given to the page;
* a **file link** names one message's image, for pages without a session.
"""

from django.core import signing
from django.urls import reverse

INVITE_SALT = "hotline.groups.invite"
GUEST_SALT = "hotline.groups.guest"
FILE_SALT = "hotline.groups.file"
GUEST_MAX_AGE = 90 * 24 * 3600  # a guest returning within 90 days keeps its seat
FILE_MAX_AGE = 30 * 24 * 3600


def invite_token(invite) -> str:
    return signing.dumps({"g": invite.group_id, "i": invite.code}, salt=INVITE_SALT)


def read_invite(token: str) -> tuple[int, str] | None:
    """(group id, invite code) of a well-signed token; None for anything else."""
    try:
        claim = signing.loads(token or "", salt=INVITE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(claim, dict) or not isinstance(claim.get("g"), int):
        return None
    return claim["g"], str(claim.get("i") or "")


def guest_token(member) -> str:
    return signing.dumps(
        {"g": member.group_id, "m": member.pk, "k": member.guest_key}, salt=GUEST_SALT
    )


def read_guest(token: str) -> tuple[int, int, str] | None:
    """(group id, member id, key) of a valid, unexpired guest token; None otherwise."""
    try:
        claim = signing.loads(token or "", salt=GUEST_SALT, max_age=GUEST_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(claim, dict):
        return None
    group, member, key = claim.get("g"), claim.get("m"), str(claim.get("k") or "")
    if not isinstance(group, int) or not isinstance(member, int) or len(key) != 32:
        return None
    return group, member, key


def file_url(message) -> str:
    return reverse("group_file", args=[signing.dumps(message.pk, salt=FILE_SALT)])


def file_message_id(signed: str) -> int | None:
    try:
        return int(signing.loads(signed, salt=FILE_SALT, max_age=FILE_MAX_AGE))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def guest_cookie(group_id: int) -> str:
    return f"hotline_group_{group_id}"
