"""SIP digest authentication (RFC 3261 §22.4 with RFC 2617's MD5 and ``qop=auth``) for
phones that REGISTER with the media node.

The node stores no password: an account keeps HA1 = MD5(extension:realm:password), the
value digest needs. Nonces are stateless — a timestamp signed with the site's secret —
so any node of the platform checks any other's, and a replayed old one is ``stale``.
"""

import hashlib
import hmac
import re
import secrets
import time

from django.conf import settings

REALM = "hotline"
NONCE_LIFETIME = 300  # seconds a challenge may be answered
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def ha1(extension: str, password: str) -> str:
    return md5(f"{extension}:{REALM}:{password}")


def _sign(stamp: str) -> str:
    key = hashlib.sha256(f"sip-digest:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, stamp.encode(), hashlib.sha256).hexdigest()[:24]


def nonce(now: float | None = None) -> str:
    stamp = f"{int(now if now is not None else time.time()):x}.{secrets.token_hex(4)}"
    return f"{stamp}.{_sign(stamp)}"


def nonce_state(value: str, now: float | None = None) -> str:
    """ "fresh", "stale" (ours, but too old: ask again) or "bad" (not ours)."""
    stamp, _, signature = value.rpartition(".")
    if not stamp or not hmac.compare_digest(_sign(stamp), signature):
        return "bad"
    try:
        issued = int(stamp.split(".")[0], 16)
    except ValueError:
        return "bad"
    age = (now if now is not None else time.time()) - issued
    return "fresh" if -5 <= age <= NONCE_LIFETIME else "stale"


def challenge(*, stale: bool = False) -> str:
    """The WWW-Authenticate value of a 401."""
    value = f'Digest realm="{REALM}", nonce="{nonce()}", algorithm=MD5, qop="auth"'
    return value + (", stale=true" if stale else "")


def parse(header: str) -> dict[str, str]:
    """An Authorization header's parameters ({} when it is not Digest)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    return {key.lower(): quoted or bare for key, quoted, bare in _PARAM.findall(rest)}


def verify(params: dict[str, str], method: str, account_ha1: str) -> bool:
    """Whether the phone's ``response`` proves it knows the password."""
    ha2 = md5(f"{method}:{params.get('uri', '')}")
    if params.get("qop"):
        expected = md5(
            f"{account_ha1}:{params.get('nonce', '')}:{params.get('nc', '')}:"
            f"{params.get('cnonce', '')}:{params['qop']}:{ha2}"
        )
    else:
        expected = md5(f"{account_ha1}:{params.get('nonce', '')}:{ha2}")
    return hmac.compare_digest(expected, params.get("response", ""))
