"""What the browser tests share: a person signed in in their own chromium context.

Pages are watched for Content-Security-Policy violations and script errors, so a test ends
with ``clean()``; screenshots go to the test's ``screenshot_dir`` under ``prefix``.
"""

from hotline.conftest import PASSWORD


class SignedIn:
    """One signed-in person in their own browser context (1440×900, zh-CN)."""

    def __init__(self, browser, base_url: str, user, screenshots, *, prefix: str = ""):
        self.base, self.screenshots, self.prefix = base_url, screenshots, prefix
        self.name = user.username
        self.context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.csp: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.goto("/login/")
        self.page.fill("input[name=username]", user.username)
        self.page.fill("input[name=password]", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        assert "/login/" not in self.page.url, f"{self.name} did not sign in: {self.page.url}"

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
