"""Security controls a 等保 assessor checks: lockout, idle timeout, forced password change,
password policy, CSRF, security headers and masked phone numbers."""

import datetime as dt
import time

import pytest
from django.test import Client
from django.utils import timezone

from hotline.core import services
from hotline.core.errors import Invalid
from hotline.core.models import AuditEntry, SecurityPolicy, User

LOCKED = "锁定"


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def attempt(client, user, password, url="/login/"):
    return client.post(url, {"username": user.username, "password": password})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def actions_for(user) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="core.user", object_id=str(user.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )


# --- lockout ------------------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_for_the_right_password(users, client, password):
    user = users.agent
    for _ in range(5):
        response = attempt(client, user, "Wrong#pass1")
        assert response.status_code == 400
    user.refresh_from_db()
    assert user.is_locked()
    response = attempt(client, user, password)
    assert response.status_code == 400
    assert LOCKED in response.content.decode()
    assert not signed_in(client)
    assert actions_for(user) == [
        "user.create",
        "role.assign",
        *["auth.login_failed"] * 4,
        "auth.locked",
        "auth.login_refused_locked",
    ]


def test_wrong_password_message_does_not_reveal_the_account(users, client):
    known = attempt(client, users.agent, "Wrong#pass1").content.decode()
    unknown = client.post("/login/", {"username": "nobody", "password": "Wrong#pass1"})
    assert unknown.status_code == 400
    assert "登录名或密码不正确" in known
    assert "登录名或密码不正确" in unknown.content.decode()


def test_lock_expires(users, client, password):
    user = users.agent
    for _ in range(5):
        attempt(client, user, "Wrong#pass1")
    assert LOCKED in attempt(client, user, password).content.decode()
    # fifteen minutes later (the policy's lockout_minutes)
    user.refresh_from_db()
    assert user.locked_until - timezone.now() <= dt.timedelta(minutes=15)
    assert user.locked_until - timezone.now() > dt.timedelta(minutes=14)
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - dt.timedelta(seconds=1))
    response = attempt(client, user, password)
    assert response.status_code == 302
    assert signed_in(client)


def test_success_resets_the_failure_count(users, client, password):
    user = users.agent
    for _ in range(4):
        attempt(client, user, "Wrong#pass1")
    assert attempt(client, user, password).status_code == 302
    user.refresh_from_db()
    assert user.failed_logins == 0
    client.post("/logout/")
    for _ in range(4):
        attempt(client, user, "Wrong#pass1")
    assert attempt(client, user, password).status_code == 302  # 4 + 4 failures: no lock


def test_lockout_threshold_follows_the_policy(users, client, password):
    services.policy_update(actor=users.sec_admin, lockout_threshold=3, lockout_minutes=5)
    for _ in range(3):
        attempt(client, users.agent, "Wrong#pass1")
    users.agent.refresh_from_db()
    assert users.agent.is_locked()
    assert users.agent.locked_until - timezone.now() <= dt.timedelta(minutes=5)
    assert LOCKED in attempt(client, users.agent, password).content.decode()


def test_lockout_applies_through_django_admin_login(users, client, password):
    user = users.sys_admin
    for _ in range(5):
        attempt(client, user, "Wrong#pass1", url="/djadmin/login/")
    user.refresh_from_db()
    assert user.is_locked()
    response = attempt(client, user, password)
    assert LOCKED in response.content.decode()
    assert not signed_in(client)
    response = attempt(Client(), user, password, url="/djadmin/login/")
    assert response.status_code != 302
    assert not AuditEntry.objects.filter(action="auth.login", actor=user).exists()


def test_sys_admin_signs_in_through_django_admin_login_and_it_is_audited(users, client, password):
    """The admin's own login page takes the accounts that may use the admin (the system
    admin holds no Django is_staff flag: rights come from roles only)."""
    response = attempt(client, users.sys_admin, password, url="/djadmin/login/")
    assert response.status_code == 302, "系统管理员无法从 /djadmin/login/ 登录"
    assert client.get("/djadmin/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.login", actor=users.sys_admin).exists()


def test_django_admin_login_refuses_other_admins(users, client, password):
    response = attempt(client, users.audit_admin, password, url="/djadmin/login/")
    assert client.get("/djadmin/").status_code == 302
    assert response.status_code in (200, 302)


# --- idle timeout -------------------------------------------------------------------------------


def idle_for(client, minutes: float) -> None:
    session = client.session
    session["last_activity"] = time.time() - minutes * 60
    session.save()


def test_idle_session_is_signed_out(users, login):
    client = login(users.agent)
    assert client.get("/").status_code == 200
    idle_for(client, 31)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    page = client.get(response["Location"])
    assert "长时间未操作" in page.content.decode()
    assert AuditEntry.objects.filter(action="auth.session_timeout", actor=users.agent).count() == 1
    assert client.get("/").status_code == 302  # really signed out


def test_active_session_stays(users, login):
    client = login(users.agent)
    idle_for(client, 29)
    assert client.get("/").status_code == 200
    assert not AuditEntry.objects.filter(action="auth.session_timeout").exists()


def test_idle_timeout_follows_the_policy(users, login):
    services.policy_update(actor=users.sec_admin, idle_timeout_minutes=10)
    client = login(users.agent)
    idle_for(client, 9)
    assert client.get("/").status_code == 200
    idle_for(client, 11)
    assert client.get("/").status_code == 302


def test_idle_api_session_gets_401_json(users, login):
    client = login(users.agent)
    assert client.get("/api/me").status_code == 200
    idle_for(client, 31)
    response = client.get("/api/me")
    assert response.status_code == 401
    assert is_chinese(response.json()["detail"])


# --- forced password change ------------------------------------------------------------------------


@pytest.fixture
def newcomer(make_user):
    return make_user("agent", must_change_password=True)


def test_new_account_must_change_password_first(newcomer, login):
    client = login(newcomer)
    for url in ("/", "/me/", "/org/", "/calendar/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/password/change/"
    assert client.get("/password/change/").status_code == 200
    response = client.get("/api/me")
    assert response.status_code == 403
    assert is_chinese(response.json()["detail"])


def test_after_changing_the_password_home_is_open(newcomer, login, password):
    client = login(newcomer)
    response = client.post(
        "/password/change/",
        {
            "old_password": password,
            "new_password": "Hkdw3857#x",
            "new_password_again": "Hkdw3857#x",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/api/me").status_code == 200
    newcomer.refresh_from_db()
    assert not newcomer.must_change_password
    assert newcomer.check_password("Hkdw3857#x")
    assert AuditEntry.objects.filter(action="user.password_change", actor=newcomer).exists()


def test_reset_password_forces_a_change_again(users, login):
    new_password = services.user_reset_password(actor=users.sys_admin, user=users.agent)
    client = login(users.agent, password=new_password)
    assert client.get("/")["Location"] == "/password/change/"


# --- password policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["abcdefgh", "abcd1234", "ABCDEFGH1", "Ab1#", "12345678"])
def test_weak_passwords_are_refused(users, password, weak):
    with pytest.raises(Invalid) as refused:
        services.password_change(user=users.agent, old_password=password, new_password=weak)
    assert is_chinese(refused.value.message)
    users.agent.refresh_from_db()
    assert users.agent.check_password(password)


def test_common_passwords_are_refused_even_when_they_meet_the_classes(users, password):
    """ "Abcd1234" has three character classes but is on the common-password list."""
    with pytest.raises(Invalid) as refused:
        services.password_change(user=users.agent, old_password=password, new_password="Abcd1234")
    assert "常见" in refused.value.message


@pytest.mark.parametrize("good", ["Abcd1357", "hkdw3857#", "Qz7#Qz7#"])
def test_passwords_meeting_the_policy_are_accepted(users, password, good):
    services.password_change(user=users.agent, old_password=password, new_password=good)
    users.agent.refresh_from_db()
    assert users.agent.check_password(good)


def test_weak_password_refused_on_the_page(newcomer, login, password):
    client = login(newcomer)
    response = client.post(
        "/password/change/",
        {
            "old_password": password,
            "new_password": "abcdefgh",
            "new_password_again": "abcdefgh",
        },
    )
    assert response.status_code == 400
    assert "至少 3 类" in response.content.decode()
    newcomer.refresh_from_db()
    assert newcomer.must_change_password


def test_initial_password_must_meet_the_policy(org, users):
    with pytest.raises(Invalid):
        services.user_create(
            actor=users.sys_admin,
            username="weakling",
            display_name="弱密码",
            platform=org.sy,
            password="abcd1234",
        )
    assert not User.objects.filter(username="weakling").exists()


def test_policy_cannot_be_weakened_below_the_floor(users, api):
    for change in (
        {"min_password_length": 6},
        {"password_classes": 2},
        {"lockout_threshold": 20},
        {"idle_timeout_minutes": 600},
    ):
        with pytest.raises(Invalid) as refused:
            services.policy_update(actor=users.sec_admin, **change)
        assert is_chinese(refused.value.message)
    response = api(users.sec_admin).patch(
        "/api/security/policy", data={"min_password_length": 6}, content_type="application/json"
    )
    assert response.status_code == 400
    assert is_chinese(response.json()["detail"])
    assert SecurityPolicy.current().min_password_length == 8


def test_stricter_policy_is_honoured(users, password):
    services.policy_update(actor=users.sec_admin, min_password_length=12, password_classes=4)
    with pytest.raises(Invalid) as refused:
        services.password_change(user=users.agent, old_password=password, new_password="Abcd1357#x")
    assert "12" in refused.value.message
    services.password_change(user=users.agent, old_password=password, new_password="Abcd1357#xyz")


# --- CSRF ------------------------------------------------------------------------------------------


def test_login_without_csrf_token_is_refused(users, password):
    client = Client(enforce_csrf_checks=True)
    response = attempt(client, users.agent, password)
    assert response.status_code == 403
    assert not signed_in(client)


def test_session_api_write_without_csrf_token_is_refused(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users.agent)
    response = client.post("/api/me/tokens", data={"name": "跨站"}, content_type="application/json")
    assert response.status_code == 403
    assert is_chinese(response.json()["detail"])
    assert not users.agent.api_tokens.exists()


# --- headers ---------------------------------------------------------------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("signed", [False, True])
def test_security_headers_on_pages(users, login, signed):
    client = login(users.agent) if signed else Client()
    response = client.get("/" if signed else "/login/")
    assert response.status_code == 200
    csp = csp_directives(response)
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert "'unsafe-inline'" not in csp["style-src"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    if signed:
        assert "no-store" in response["Cache-Control"]


def test_pages_carry_no_inline_script_or_style(users, login):
    body = login(users.agent).get("/").content.decode()
    assert "<script>" not in body and "<style" not in body
    assert " style=" not in body and " onclick=" not in body


def test_no_anonymous_page_allows_inline_script(db):
    """The API docs page (Swagger UI) must not hand an anonymous visitor a policy with
    'unsafe-inline': either it needs a signed-in user, or it runs under the strict CSP
    (django-ninja's Swagger page loads its init script from a static file)."""
    for url in ("/api/docs", "/login/", "/api/openapi.json"):
        response = Client().get(url)
        if response.status_code == 200:
            assert "'unsafe-inline'" not in csp_directives(response)["script-src"], url


def test_session_cookie_is_http_only(users, password):
    client = Client()
    attempt(client, users.agent, password)
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


# --- phone numbers ---------------------------------------------------------------------------------


def test_phone_numbers_are_masked(users, api):
    client = api(users.dispatcher)
    body = client.get(f"/api/users/{users.agent.pk}").json()
    assert body["phone_masked"] == "138****5678"
    assert "13812345678" not in client.get(f"/api/users/{users.agent.pk}").content.decode()
    assert "13812345678" not in client.get("/api/users", {"limit": 100}).content.decode()


def test_revealing_a_phone_needs_the_permission(users, make_user, api):
    colleague = make_user("agent")
    response = api(colleague).post(f"/api/users/{users.agent.pk}/reveal-phone")
    assert response.status_code == 403
    assert is_chinese(response.json()["detail"])
    assert "13812345678" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="phone.reveal").exists()


def test_revealing_a_phone_is_audited(users, api):
    response = api(users.dispatcher).post(
        f"/api/users/{users.agent.pk}/reveal-phone", REMOTE_ADDR="203.0.113.7"
    )
    assert response.status_code == 200
    assert response.json() == {"phone": "13812345678"}
    entry = AuditEntry.objects.get(action="phone.reveal")
    assert entry.actor == users.dispatcher
    assert entry.object_id == str(users.agent.pk)
    assert entry.ip == "203.0.113.7"
    assert entry.detail["masked"] == "138****5678"
    assert "13812345678" not in str(entry.detail) + str(entry.changes) + entry.object_repr
