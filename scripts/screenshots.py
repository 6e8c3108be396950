"""Screenshots of the sign-in page and of every role's home page, for the docs.

    python scripts/screenshots.py http://127.0.0.1:8000
    python scripts/screenshots.py http://127.0.0.1:8000 --login agent01:Hotline@2026 \
        --page /me/ --full-page --out docs/screenshots

Accounts: the ``--login user:password`` options when given, else the demo logins
(``hotline.core.demo.DEMO_LOGINS``, one account per role; load them with
``hotline init --demo``). Each account signs in in its own browser context; the page it
lands on is saved as ``<role>.png`` (or ``<username>.png`` for ``--login``), and each
``--page`` as ``<name>-<page>.png``. Content-Security-Policy violations and page errors
are reported, and make the exit status 1.

Needs Playwright and a Chromium (``--chromium``, default /usr/bin/chromium).
"""

import argparse
import os
import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.web.chromium import launch_options  # noqa: E402


def demo_logins() -> list[dict]:
    """The demo accounts, or [] when the demo module is not there."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
    try:
        import django

        django.setup()
        from hotline.core.demo import DEMO_LOGINS
    except ImportError:
        return []
    return [
        {"name": login["role"], "username": login["username"], "password": login["password"]}
        for login in DEMO_LOGINS
    ]


def parse_login(value: str) -> dict:
    username, sep, password = value.partition(":")
    if not sep or not username or not password:
        raise argparse.ArgumentTypeError("格式应为 登录名:密码")
    return {"name": username, "username": username, "password": password}


def slug(path: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", path).strip("-") or "root"


class Watch:
    """Collects CSP violations and uncaught errors of one page."""

    def __init__(self, page, label: str):
        self.label = label
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"页面脚本错误：{error}"))

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text:
            self.problems.append(text)
        elif message.type == "error":
            # a refused form answers 400 on purpose; browsers ask for /favicon.ico unasked
            url = (message.location or {}).get("url", "")
            if "status of 400" not in text and not url.endswith("/favicon.ico"):
                self.problems.append(f"{text} {url}".strip())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--login",
        action="append",
        type=parse_login,
        default=[],
        help="登录名:密码 (repeatable); default: the demo logins",
    )
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        help="also capture this path for every account (repeatable)",
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--full-page", action="store_true", help="capture the whole page height")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)

    logins = args.login or demo_logins()
    if not logins:
        parser.error("没有可用的账号：请用 --login 登录名:密码 指定，或先加载演示数据")
    base = args.base_url.rstrip("/")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options(args.chromium))
        viewport = {"width": args.width, "height": args.height}

        def shoot(page, name: str) -> None:
            page.wait_for_load_state("networkidle")
            path = out / f"{name}.png"
            page.screenshot(path=str(path), full_page=args.full_page)
            print(f"  {path}")

        # the sign-in page, empty and with a refused password
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        watch = Watch(page, "login")
        page.goto(f"{base}/login/")
        shoot(page, "login")
        page.fill("input[name=username]", logins[0]["username"])
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")
        shoot(page, "login-error")
        problems += [f"login: {p}" for p in watch.problems]
        context.close()

        for login in logins:
            context = browser.new_context(viewport=viewport, locale="zh-CN")
            page = context.new_page()
            watch = Watch(page, login["name"])
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", login["username"])
            page.fill("input[name=password]", login["password"])
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            if "/login/" in page.url:
                problems.append(f"{login['name']}: 登录失败（{login['username']}）")
                context.close()
                continue
            print(f"{login['name']} ({login['username']}) → {page.url}")
            shoot(page, login["name"])
            for path in args.page:
                page.goto(base + path)
                shoot(page, f"{login['name']}-{slug(path)}")
            problems += [f"{login['name']}: {p}" for p in watch.problems]
            context.close()
        browser.close()

    for problem in problems:
        print("问题：", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
