"""三权分立 (separation of the three admin powers) through every door.

The system admin manages accounts, the organisation and the calendar; the security
admin assigns roles and sets policy; the audit admin reads the audit log. No account may
hold two of these roles, nor an admin role together with a business role, and none of
the three may do another's job — whether the request comes through the services, the
REST API, Django admin or the command line. The page door is tested with the pages.
"""

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.core import services
from hotline.core.errors import Conflict, HotlineError
from hotline.core.models import (
    AuditEntry,
    CalendarDay,
    RoleAssignment,
    RolePermission,
    SecurityPolicy,
    User,
)
from hotline.core.roles import ADMIN_ROLES, PERMISSIONS, ROLES

BUSINESS_ROLES = [code for code, role in ROLES.items() if not role.admin]
RESERVED = {code: p.reserved_for for code, p in PERMISSIONS.items() if p.reserved_for}


def roles_of(user) -> list[str]:
    return sorted(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


# --- services --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder", "second"),
    [(a, b) for a in ADMIN_ROLES for b in ADMIN_ROLES if a != b],
)
def test_service_refuses_a_second_admin_role(make_user, holder, second):
    admin = make_user(holder)
    before = AuditEntry.objects.count()
    with pytest.raises(Conflict) as refused:
        services.role_assign(actor=None, user=admin, role=second)
    assert "三权分立" in refused.value.message
    assert roles_of(admin) == [holder]
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("admin_role", ADMIN_ROLES)
def test_service_refuses_admin_role_to_an_account_with_business_roles(users, admin_role):
    with pytest.raises(Conflict) as refused:
        services.role_assign(actor=None, user=users.agent, role=admin_role)
    assert "三权分立" in refused.value.message
    assert roles_of(users.agent) == ["agent"]


@pytest.mark.parametrize("admin_role", ADMIN_ROLES)
def test_service_refuses_business_role_to_an_admin(make_user, admin_role):
    admin = make_user(admin_role)
    for business in ("agent", "dispatcher", "analyst", "office"):
        with pytest.raises(Conflict):
            services.role_assign(actor=None, user=admin, role=business)
    assert roles_of(admin) == [admin_role]


def test_security_admin_is_refused_too(users):
    """The security admin, who may assign roles, cannot break the rule either."""
    with pytest.raises(Conflict):
        services.role_assign(actor=users.sec_admin, user=users.sys_admin, role="audit_admin")
    with pytest.raises(Conflict):
        services.role_assign(actor=users.sec_admin, user=users.dispatcher, role="sys_admin")
    with pytest.raises(HotlineError):
        services.role_assign(actor=users.sec_admin, user=users.sec_admin, role="agent")
    assert roles_of(users.sys_admin) == ["sys_admin"]
    assert roles_of(users.dispatcher) == ["dispatcher"]
    assert roles_of(users.sec_admin) == ["sec_admin"]


def test_database_refuses_a_second_admin_role(users):
    """Writes that bypass the services (shell, a future bug) meet the DB constraint."""
    for role in ("sec_admin", "audit_admin"):
        with pytest.raises(IntegrityError), transaction.atomic():
            RoleAssignment.objects.create(user=users.sys_admin, role=role)
    assert roles_of(users.sys_admin) == ["sys_admin"]


def test_database_refuses_the_same_role_twice(users):
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=users.agent, role="agent")


# --- API ------------------------------------------------------------------------------------------


def test_api_sec_admin_cannot_make_sys_admin_an_audit_admin(users, api):
    response = post_json(
        api(users.sec_admin), f"/api/users/{users.sys_admin.pk}/roles", {"role": "audit_admin"}
    )
    assert response.status_code == 409
    assert is_chinese(response.json()["detail"])
    assert "三权分立" in response.json()["detail"]
    assert roles_of(users.sys_admin) == ["sys_admin"]


def test_api_sec_admin_cannot_give_an_admin_role_to_an_agent(users, api):
    response = post_json(
        api(users.sec_admin), f"/api/users/{users.agent.pk}/roles", {"role": "sys_admin"}
    )
    assert response.status_code == 409
    assert roles_of(users.agent) == ["agent"]


def test_api_sec_admin_assigns_business_roles(users, api):
    """The door is open for what is allowed (so the refusals above mean something)."""
    response = post_json(
        api(users.sec_admin), f"/api/users/{users.agent.pk}/roles", {"role": "callback"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["roles"] == ["agent", "callback"]


def test_api_sys_admin_cannot_assign_roles(users, api):
    client = api(users.sys_admin)
    before = AuditEntry.objects.count()
    response = post_json(client, f"/api/users/{users.agent.pk}/roles", {"role": "dispatcher"})
    assert response.status_code == 403
    assert is_chinese(response.json()["detail"])
    assert roles_of(users.agent) == ["agent"]
    assert AuditEntry.objects.count() == before


def test_api_sys_admin_cannot_revoke_roles(users, api):
    response = api(users.sys_admin).delete(f"/api/users/{users.agent.pk}/roles/agent")
    assert response.status_code == 403
    assert roles_of(users.agent) == ["agent"]


@pytest.mark.parametrize("who", ["sys_admin", "sec_admin", "agent", "dispatcher"])
def test_api_only_the_audit_admin_reads_the_audit_log(users, api, who):
    for url in ("/api/audit", "/api/audit/export"):
        response = api(getattr(users, who)).get(url)
        assert response.status_code == 403, url
        assert is_chinese(response.json()["detail"])
    assert api(users.audit_admin).get("/api/audit").status_code == 200
    assert api(users.audit_admin).get("/api/audit/export").status_code == 200


def _state():
    """Everything the audit admin's attempts below could have changed."""
    policy = SecurityPolicy.current()
    return {
        "users": list(
            User.objects.order_by("pk").values_list(
                "pk", "username", "display_name", "is_active", "password", "phone"
            )
        ),
        "roles": list(RoleAssignment.objects.order_by("pk").values_list("user", "role")),
        "grants": sorted(RolePermission.objects.values_list("role", "permission")),
        "policy": (
            policy.min_password_length,
            policy.password_classes,
            policy.lockout_threshold,
            policy.lockout_minutes,
            policy.idle_timeout_minutes,
        ),
        "calendar": list(CalendarDay.objects.order_by("date").values_list("date", "kind", "name")),
        "audit_actions": sorted(
            AuditEntry.objects.exclude(action="token.create").values_list("action", flat=True)
        ),
    }


def test_api_audit_admin_cannot_change_anything(users, org, api):
    client = api(users.audit_admin)
    before = _state()
    target = users.agent.pk
    attempts = [
        (
            "post",
            "/api/users",
            {"username": "spy01", "display_name": "新人", "platform_id": org.sy.pk},
        ),
        ("patch", f"/api/users/{target}", {"display_name": "改名"}),
        ("post", f"/api/users/{target}/disable", None),
        ("post", f"/api/users/{target}/reset-password", None),
        ("post", f"/api/users/{target}/unlock", None),
        ("post", f"/api/users/{target}/roles", {"role": "dispatcher"}),
        ("delete", f"/api/users/{target}/roles/agent", None),
        ("put", "/api/calendar/days/2026-03-02", {"kind": "holiday", "name": "审计日"}),
        ("delete", "/api/calendar/days/2026-01-01", None),
        ("patch", "/api/security/policy", {"idle_timeout_minutes": 120}),
        ("put", "/api/security/roles/agent/permissions/phone.reveal", {"granted": True}),
        ("put", "/api/security/roles/audit_admin/permissions/org.view", {"granted": True}),
    ]
    for method, url, body in attempts:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body else {}
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == 403, (method, url, response.content)
        assert is_chinese(response.json()["detail"]), (method, url)
    assert _state() == before


@pytest.mark.parametrize("role", BUSINESS_ROLES)
def test_api_sec_admin_cannot_grant_audit_read_to_any_role(users, api, role):
    assert "audit.read" in RESERVED
    for permission in RESERVED:  # audit.read and every other admin-only permission
        response = api(users.sec_admin).put(
            f"/api/security/roles/{role}/permissions/{permission}",
            data=json.dumps({"granted": True}),
            content_type="application/json",
        )
        assert response.status_code == 403, (role, permission)
        assert is_chinese(response.json()["detail"])
        assert not RolePermission.objects.filter(role=role, permission=permission).exists()


@pytest.mark.parametrize("admin_role", ADMIN_ROLES)
def test_api_sec_admin_cannot_change_admin_roles_permissions(users, api, admin_role):
    grants = sorted(RolePermission.objects.values_list("role", "permission"))
    held = ROLES[admin_role].default_grants
    attempts = [(code, True) for code in PERMISSIONS if code not in held] + [
        (code, False) for code in held
    ]
    client = api(users.sec_admin)
    for permission, granted in attempts:
        response = client.put(
            f"/api/security/roles/{admin_role}/permissions/{permission}",
            data=json.dumps({"granted": granted}),
            content_type="application/json",
        )
        assert response.status_code == 403, (admin_role, permission, granted)
        assert is_chinese(response.json()["detail"])
    assert sorted(RolePermission.objects.values_list("role", "permission")) == grants


def test_api_sec_admin_may_grant_business_permissions(users, api):
    response = api(users.sec_admin).put(
        "/api/security/roles/agent/permissions/phone.reveal",
        data=json.dumps({"granted": True}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert RolePermission.objects.filter(role="agent", permission="phone.reveal").exists()


@pytest.mark.parametrize("victim", ["audit_admin", "sec_admin"])
def test_api_sys_admin_cannot_take_over_other_admins(users, api, victim):
    target = getattr(users, victim)
    password_hash = target.password
    client = api(users.sys_admin)
    for url in (f"/api/users/{target.pk}/reset-password", f"/api/users/{target.pk}/disable"):
        response = client.post(url)
        assert response.status_code == 403, url
        assert "三权分立" in response.json()["detail"]
    response = client.patch(
        f"/api/users/{target.pk}",
        data=json.dumps({"phone": "13900000000"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.is_active and target.password == password_hash and target.phone == ""


def test_api_sys_admin_still_manages_ordinary_accounts(users, api):
    response = api(users.sys_admin).post(f"/api/users/{users.agent.pk}/disable")
    assert response.status_code == 200, response.content
    users.agent.refresh_from_db()
    assert not users.agent.is_active


# --- Django admin ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["audit_admin", "sec_admin", "agent"])
def test_django_admin_is_closed_to_everyone_but_the_sys_admin(users, login, who):
    client = login(getattr(users, who))
    for url in ("/djadmin/", "/djadmin/core/user/", "/djadmin/core/platform/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/djadmin/login/")


def test_django_admin_has_no_audit_role_or_permission_pages(users, login):
    client = login(users.sys_admin)
    assert client.get("/djadmin/").status_code == 200
    assert client.get("/djadmin/core/platform/").status_code == 200
    for model in ("auditentry", "roleassignment", "rolepermission", "securitypolicy", "apitoken"):
        assert client.get(f"/djadmin/core/{model}/").status_code == 404, model
    index = client.get("/djadmin/").content.decode()
    assert "/djadmin/core/auditentry/" not in index
    assert "/djadmin/core/roleassignment/" not in index


def test_django_admin_sys_admin_cannot_edit_the_audit_admin(users, login):
    client = login(users.sys_admin)
    target = users.audit_admin
    response = client.post(
        f"/djadmin/core/user/{target.pk}/change/",
        {
            "display_name": "被改",
            "employee_no": "",
            "phone": "",
            "email": "",
            "platform": target.platform_id,
            "unit": "",
            "team": "",
            "is_active": "",
        },
    )
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.is_active and target.display_name == "审计管理员丙"


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_createadmin_makes_an_admin(org):
    call_command(
        "createadmin",
        "secops",
        role="sec_admin",
        platform="HN",
        display_name="安全管理员丁",
        password="Qr7#Lumen2025",
    )
    user = User.objects.get(username="secops")
    assert roles_of(user) == ["sec_admin"]
    assert user.platform == org.hn
    assert user.check_password("Qr7#Lumen2025")


@pytest.mark.parametrize("second", ["sec_admin", "audit_admin"])
def test_cli_createadmin_refuses_a_second_admin_role(users, second):
    before = RoleAssignment.objects.count()
    with pytest.raises(CommandError) as refused:
        call_command(
            "createadmin",
            users.sys_admin.username,
            role=second,
            platform="HN",
            display_name="系统管理员甲",
            password="Qr7#Lumen2025",
        )
    assert is_chinese(str(refused.value))
    assert RoleAssignment.objects.count() == before
    assert roles_of(users.sys_admin) == ["sys_admin"]


def test_cli_createadmin_refuses_an_account_with_business_roles(users):
    with pytest.raises(CommandError) as refused:
        call_command(
            "createadmin",
            users.agent.username,
            role="audit_admin",
            platform="SY",
            display_name="话务员张敏",
            password="Qr7#Lumen2025",
        )
    assert is_chinese(str(refused.value))
    assert roles_of(users.agent) == ["agent"]


# --- property: no sequence of grants breaks the rule ------------------------------------------------


class _Rollback(Exception):
    """Raised at the end of each hypothesis example to undo its writes."""


ALL_ROLES = list(ROLES)


@pytest.fixture
def people(org, make_user):
    """Five role-less accounts, one of them in a handling unit."""
    return [make_user(None) for _ in range(4)] + [make_user(None, unit=org.sy_units[0])]


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    operations=st.lists(
        st.tuples(
            st.sampled_from(["assign", "revoke"]), st.integers(0, 4), st.sampled_from(ALL_ROLES)
        ),
        max_size=25,
    )
)
def test_no_sequence_of_grants_breaks_the_separation(people, operations):
    """Whatever roles are granted and withdrawn, in whatever order, no account ever holds
    two admin roles, or an admin role next to another role. Each example runs in a
    transaction rolled back at its end, so examples do not see each other's grants."""
    try:
        with transaction.atomic():
            for verb, index, role in operations:
                user = people[index]
                try:
                    if verb == "assign":
                        services.role_assign(actor=None, user=user, role=role)
                    else:
                        services.role_revoke(actor=None, user=user, role=role)
                except HotlineError:
                    pass
                for person in people:
                    held = set(roles_of(person))
                    admin = held & set(ADMIN_ROLES)
                    assert len(admin) <= 1, held
                    assert not admin or held == admin, held
            raise _Rollback
    except _Rollback:
        pass


def test_calendar_is_not_touched_by_refused_requests(users, api):
    """A refused calendar write through the API leaves the day as it was."""
    day = dt.date(2026, 3, 2)
    response = api(users.sec_admin).put(
        f"/api/calendar/days/{day}",
        data=json.dumps({"kind": "holiday", "name": "越权"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not CalendarDay.objects.filter(date=day).exists()
