"""What the browser and socket tests share.

:class:`SignedIn` — a person signed in in their own chromium context (:class:`Visitor`:
one who is not, e.g. a citizen on the web chat). Pages are watched
for Content-Security-Policy violations and script errors, so a test ends with
``clean()``; screenshots go to the test's ``screenshot_dir`` under ``prefix``.

:class:`Socket` — one WebSocket of a page, driven through ``hotline.asgi.application``
(origin check, session auth, routing) as Channels' ``WebsocketCommunicator`` drives one
(that class cannot be imported here: ``channels.testing`` needs daphne, which this
project does not install).
"""

import json

from asgiref.testing import ApplicationCommunicator
from django.conf import settings

from hotline.conftest import PASSWORD

# How long a message that should come may take (generous: a busy machine, Redis).
SOCKET_WAIT = 10


class Socket(ApplicationCommunicator):
    """One page's socket at ``path`` (``?query`` allowed), as ``client`` (a signed-in
    Django test client) or as nobody."""

    def __init__(self, path: str, client=None):
        from hotline.asgi import application

        path, _, query = path.partition("?")
        headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
        if client is not None:
            session = client.cookies[settings.SESSION_COOKIE_NAME].value
            headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()))
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": query.encode(),
            "headers": headers,
            "subprotocols": [],
        }
        super().__init__(application, scope)

    async def connect(self) -> bool:
        await self.send_input({"type": "websocket.connect"})
        return (await self.receive_output(timeout=SOCKET_WAIT))["type"] == "websocket.accept"

    async def send_json_to(self, data) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json_from(self, timeout: float = SOCKET_WAIT):
        output = await self.receive_output(timeout)
        assert output["type"] == "websocket.send", output
        return json.loads(output["text"])

    async def receive_until(self, predicate, timeout: float = SOCKET_WAIT):
        """The first message that satisfies ``predicate``; the others are kept in
        ``self.skipped`` (a test may look there for what came first)."""
        if not hasattr(self, "skipped"):
            self.skipped = []
        for index, message in enumerate(self.skipped):
            if predicate(message):
                return self.skipped.pop(index)
        while True:
            message = await self.receive_json_from(timeout)
            if predicate(message):
                return message
            self.skipped.append(message)

    async def closed_with(self) -> int | None:
        """Connect and return the close code the server answers with."""
        assert await self.connect()  # accepted first, so that the browser learns why
        output = await self.receive_output(timeout=SOCKET_WAIT)
        assert output["type"] == "websocket.close", output
        return output.get("code")

    async def disconnect(self):
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(timeout=3)


class Visitor:
    """One person in their own browser context (zh-CN; 1440×900 unless ``viewport``), not
    signed in — a citizen on the web chat, or the base of :class:`SignedIn`."""

    def __init__(self, browser, base_url: str, screenshots, *, prefix: str = "", viewport=None):
        self.base, self.screenshots, self.prefix = base_url, screenshots, prefix
        self.name = getattr(self, "name", "visitor")
        self.context = browser.new_context(
            viewport=viewport or {"width": 1440, "height": 900}, locale="zh-CN"
        )
        self.page = self.context.new_page()
        self.csp: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)
        elif message.type == "error":
            self.errors.append(message.text)

    def goto(self, path: str):
        response = self.page.goto(self.base + path)
        assert response.status == 200, f"{self.name}: GET {path} → {response.status}"
        return response

    def submit(self, button):
        """Click a submit button and wait for the page the POST-redirect-GET lands on."""
        with self.page.expect_navigation():
            button.click()

    def shoot(self, name: str, full: bool = False):
        path = self.screenshots / f"{self.prefix}{name}.png"
        self.page.screenshot(path=str(path), full_page=full)

    def clean(self):
        assert self.csp == [], f"{self.name}: CSP violations {self.csp}"
        assert self.errors == [], f"{self.name}: script errors {self.errors}"

    def close(self):
        self.context.close()


class SignedIn(Visitor):
    """One signed-in person in their own browser context (1440×900, zh-CN)."""

    def __init__(self, browser, base_url: str, user, screenshots, *, prefix: str = ""):
        self.name = user.username
        super().__init__(browser, base_url, screenshots, prefix=prefix)
        self.goto("/login/")
        self.page.fill("input[name=username]", user.username)
        self.page.fill("input[name=password]", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        assert "/login/" not in self.page.url, f"{self.name} did not sign in: {self.page.url}"


# --- a service on loopback that speaks HTTP (an SMS gateway, WeChat's API host …) ------------


class LoopbackHttp:
    """A real HTTP server on 127.0.0.1 standing in for an outside service: every request is
    recorded (``requests``: method, path, query, headers, body bytes) and answered by
    ``respond(request) -> (status, content_type, body)``; set ``respond`` to change the
    answer (a peer that is down: ``self.down = True`` closes the connection unanswered).
    Use as a context manager; ``url`` is its base address."""

    def __init__(self, respond=None):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs, urlsplit

        self.requests: list[dict] = []
        self.respond = respond or (lambda request: (200, "application/json", b'{"code": 0}'))
        self.down = False
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = {
                    "method": self.command,
                    "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "headers": dict(self.headers),
                    "body": self.rfile.read(length) if length else b"",
                }
                service.requests.append(request)
                if service.down:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, content_type, body = service.respond(request)
                body = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def json(self, index: int = -1) -> dict:
        """The JSON body of a recorded request (the last by default)."""
        return json.loads(self.requests[index]["body"] or b"null")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
