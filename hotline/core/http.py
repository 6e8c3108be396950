"""One HTTP exchange with an outside service (an SMS gateway, WeChat's or Weibo's API
host, a fax gateway): what every adapter shares, so that a service that is down or
refuses reads the same in every delivery log — "<service>不可达：…" or
"<service>返回 HTTP 5xx"."""

import urllib.error
import urllib.request
from dataclasses import dataclass


class RemoteError(Exception):
    """The service did not answer, or answered with an HTTP error (``status``, ``body``
    kept for adapters that read the service's own words from it)."""

    def __init__(self, message: str, *, status: int | None = None, body: bytes = b""):
        super().__init__(message)
        self.status, self.body = status, body


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def exchange(
    method: str,
    url: str,
    *,
    service: str,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10,
) -> Answer:
    """Send one request; its answer when the status is 2xx, :class:`RemoteError` (with a
    Chinese message naming ``service``) otherwise or when the service cannot be reached."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = Answer(
                response.status, response.headers.get("Content-Type", ""), response.read()
            )
    except urllib.error.HTTPError as error:
        raise RemoteError(
            f"{service}返回 HTTP {error.code}", status=error.code, body=error.read()
        ) from None
    except (urllib.error.URLError, OSError) as error:
        raise RemoteError(f"{service}不可达：{getattr(error, 'reason', error)}") from None
    if not 200 <= answer.status < 300:
        raise RemoteError(f"{service}返回 HTTP {answer.status}", status=answer.status)
    return answer
