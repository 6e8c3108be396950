"""The page shell in a real browser: sign-in, every role's home, CSP, sign-out.

Drives the Debian chromium through Playwright against pytest-django's ``live_server``.
Every page is watched for Content-Security-Policy violations (the policy forbids inline
script and style, so a stray ``style=""`` or ``onclick=`` shows up here).
"""

import pytest
from playwright.sync_api import expect

from hotline.core import services
from hotline.core.models import SecurityPolicy
from hotline.core.roles import ROLES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Ui#Test2026"

#: A heading each role's home must show (its own panel), in addition to the greeting.
HOME_PANEL_TITLES = {
    "agent": ["我的班组", "本月工作日历"],
    "team_leader": ["我的班组", "组织概况", "班组一览"],
    "dispatcher": ["我的班组", "承办单位通讯录"],
    "callback": ["我的班组", "承办单位通讯录"],
    "qa": ["我的班组", "班组一览"],
    "kb_editor": ["承办单位通讯录"],
    "analyst": ["组织概况"],
    "trainer": ["班组一览"],
    "manager": ["组织概况"],
    "office": ["组织概况"],
    "unit_handler": ["本单位"],
    "sys_admin": ["账号概况", "本月工作日历"],
    "sec_admin": ["安全策略", "各角色账号数"],
    "audit_admin": ["最新审计日志"],
}


@pytest.fixture
def people(transactional_db):
    """A small hotline built through the services: a city platform, a handling unit, a
    team with a leader and skills, and one account per role."""
    services.role_permissions_seed()
    services.calendar_load_shipped(actor=None)
    if not SecurityPolicy.objects.exists():
        SecurityPolicy.objects.create()
    platform = services.platform_create(
        actor=None, code="TS", name="测试市12345政务服务便民热线", level="city"
    )
    unit = services.unit_create(
        actor=None,
        platform=platform,
        code="RSJ",
        name="测试市人力资源和社会保障局",
        short_name="市人社局",
        contact_phone="0898-88270001",
    )
    skill = services.skill_create(actor=None, platform=platform, code="shebao", name="社保")
    accounts = {}
    for number, code in enumerate(ROLES, start=1):
        user, _ = services.user_create(
            actor=None,
            username=f"ui_{code}",
            display_name=f"{ROLES[code].name}{number:02d}",
            platform=platform,
            unit=unit if code == "unit_handler" else None,
            phone=f"1391234{number:04d}",
            employee_no=f"{1000 + number}",
            password=PASSWORD,
            must_change_password=False,
        )
        services.role_assign(actor=None, user=user, role=code)
        accounts[code] = user
    team = services.team_create(
        actor=None, platform=platform, name="早班一组", leader=accounts["team_leader"]
    )
    for code in ("agent", "team_leader", "dispatcher", "callback", "qa"):
        services.user_update(actor=None, user=accounts[code], team=team)
    services.user_skill_set(actor=None, user=accounts["agent"], skill=skill, level=4)
    return accounts


class Page:
    """A browser context for one person, collecting CSP violations and script errors."""

    def __init__(self, browser, base_url: str):
        self.base = base_url
        self.context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        self.page = self.context.new_page()
        self.csp: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)

    def goto(self, path: str):
        return self.page.goto(self.base + path)

    def login(self, username: str, password: str = PASSWORD):
        self.goto("/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")

    def close(self):
        self.context.close()


def test_login_page_is_chinese_and_refuses_a_wrong_password(browser, live_server, people):
    page = Page(browser, live_server.url)
    response = page.goto("/login/")
    assert response.status == 200
    assert page.page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.page).to_have_title("登录 · 12345政务服务便民热线")
    expect(page.page.locator("h1")).to_have_text("账号登录")
    expect(page.page.locator("label[for=id_username]")).to_contain_text("登录名")
    expect(page.page.locator("label[for=id_password]")).to_contain_text("密码")
    expect(page.page.locator(".login-note")).to_contain_text("连续 5 次登录失败将锁定 15 分钟")

    page.page.fill("input[name=username]", "ui_agent")
    page.page.fill("input[name=password]", "not-the-password")
    with page.page.expect_response(
        lambda r: r.url.endswith("/login/") and r.request.method == "POST"
    ) as info:
        page.page.click("button[type=submit]")
    assert info.value.status == 400
    expect(page.page.locator(".login-error")).to_have_text("登录名或密码不正确。")
    assert page.page.url.endswith("/login/")

    # empty fields: Chinese field errors, still a 400
    page.page.fill("input[name=username]", "")
    page.page.fill("input[name=password]", "")
    page.page.click("button[type=submit]")
    expect(page.page.locator(".invalid-feedback").first).to_contain_text("必填")
    assert page.csp == [] and page.errors == []
    page.close()


def test_every_role_sees_its_home_without_csp_violations(browser, live_server, people):
    for code, user in people.items():
        page = Page(browser, live_server.url)
        page.login(user.username)
        assert page.page.url == live_server.url + "/", f"{code}: {page.page.url}"
        expect(page.page.locator(".welcome-title")).to_contain_text(user.display_name)
        expect(page.page.locator(".welcome .role-badge")).to_have_text(ROLES[code].name)
        expect(page.page.locator(".day-status")).to_contain_text("今天")
        titles = page.page.locator(".panel-title").all_inner_texts()
        for title in HOME_PANEL_TITLES[code]:
            assert title in titles, f"{code}: {title} not in {titles}"
        # the menu marks the home entry as the current page
        expect(page.page.locator(".nav-item.active")).to_have_text("首页")

        if code == "sys_admin":  # 三权分立: the system admin never sees the audit log
            assert "最新审计日志" not in titles
            assert page.page.locator("#panel-audit_recent, .audit-table").count() == 0
            assert page.page.locator("a[href^='/audit/']").count() == 0
        if code == "audit_admin":
            rows = page.page.locator(".audit-table tbody tr")
            assert rows.count() > 0  # the services above wrote audit entries
            expect(rows.first).to_contain_text("登录")
            # nothing to change from the audit admin's home but signing out
            assert page.page.locator(".app-content form").count() == 0
        if code == "agent":
            expect(page.page.locator("#panel-my_team")).to_contain_text("早班一组")
            expect(page.page.locator("#panel-my_team .skill")).to_contain_text("社保")
        if code == "unit_handler":
            expect(page.page.locator("#panel-my_unit")).to_contain_text(
                "测试市人力资源和社会保障局"
            )

        assert page.csp == [], f"{code}: {page.csp}"
        assert page.errors == [], f"{code}: {page.errors}"
        page.close()


def test_profile_token_is_shown_once_and_revoked_after_confirmation(browser, live_server, people):
    page = Page(browser, live_server.url)
    page.login("ui_agent")
    page.goto("/me/")
    expect(page.page.locator(".info-list")).to_contain_text("139****0001")
    page.page.fill("input[name=name]", "知识库同步脚本")
    page.page.click("form.token-form button[type=submit]")
    key = page.page.locator(".new-key-value").inner_text()
    assert key.startswith("hl_")
    page.goto("/me/")
    assert page.page.locator(".new-key-value").count() == 0
    assert key not in page.page.content()
    page.page.once("dialog", lambda dialog: dialog.accept())
    page.page.click(".token-table form[data-confirm] button")
    expect(page.page.locator(".alert-success")).to_contain_text("已吊销")
    expect(page.page.locator(".token-table")).to_contain_text("已吊销")
    assert page.csp == [] and page.errors == []
    page.close()


def test_logout_returns_to_the_login_page(browser, live_server, people):
    page = Page(browser, live_server.url)
    page.login("ui_manager")
    with page.page.expect_navigation():
        page.page.click(".btn-logout")
    assert page.page.url.endswith("/login/")
    expect(page.page.locator(".alert")).to_contain_text("您已安全退出")
    page.goto("/")
    assert "/login/" in page.page.url
    assert page.csp == [] and page.errors == []
    page.close()
