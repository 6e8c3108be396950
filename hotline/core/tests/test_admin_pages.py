"""The administration pages: accounts (系统管理员), security (安全管理员), audit viewer
(审计管理员), organisation and working calendar — through the page door, with the
三权分立 separation checked on every page.

The organisation and accounts come from the shared fixtures (hotline/conftest.py), made
through the services: HN → SY → YZ, units under SY and YZ, one account per admin role on
HN, agents, and handlers of two different SY units.
"""

import datetime as dt
import io
import re
from urllib.parse import unquote

import pytest
from django.test import Client
from openpyxl import load_workbook

from hotline.core import services
from hotline.core.models import AuditEntry, CalendarDay, RoleAssignment, RolePermission, User


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def audit_row(users):
    """An audited account edit, so the audit pages have a row with a before/after diff."""
    services.user_update(actor=None, user=users.agent, display_name="话务员张敏敏")
    return AuditEntry.objects.filter(action="user.update").latest("pk")


def admin_pages(users, org, audit_row) -> dict[str, list[tuple[str, str]]]:
    """Each admin's pages, with a Chinese phrase each must show."""
    return {
        "sys_admin": [
            ("/accounts/", "账号列表"),
            ("/accounts/new/", "新建账号"),
            (f"/accounts/{users.agent.pk}/", "账号状态"),
        ],
        "sec_admin": [
            ("/security/roles/", "角色分配"),
            (f"/security/roles/{users.agent.pk}/", "已分配的角色"),
            ("/security/permissions/", "权限配置"),
            ("/security/policy/", "安全策略"),
        ],
        "audit_admin": [
            ("/audit/", "审计记录"),
            (f"/audit/{audit_row.pk}/", "修改前"),
        ],
    }


# --- every page renders for its admin, and for nobody else --------------------------------


def test_each_admin_page_renders_in_chinese_for_its_admin(users, org, audit_row):
    for role, page_list in admin_pages(users, org, audit_row).items():
        client = client_for(getattr(users, role))
        for url, phrase in page_list:
            response = client.get(url)
            assert response.status_code == 200, (role, url, response.status_code)
            body = text(response)
            assert 'lang="zh-CN"' in body
            assert phrase in body, (url, phrase)


def test_org_and_calendar_render_for_the_system_admin(users, org):
    client = client_for(users.sys_admin)
    response = client.get("/org/")
    assert response.status_code == 200
    body = text(response)
    for phrase in (
        "平台层级",
        "海南省12345热线",
        "崖州区12345热线",
        "三亚市人力资源和社会保障局",
        "省级",
        "市级",
        "县级",
        "/djadmin/core/platform/",
    ):
        assert phrase in body, phrase
    response = client.get(f"/org/units/{org.sy_units[0].pk}/")
    assert response.status_code == 200
    assert "单位人员" in text(response) and "人社局王芳" in text(response)
    assert f"/djadmin/core/handlingunit/{org.sy_units[0].pk}/change/" in text(response)

    response = client.get("/calendar/?year=2025&month=10")
    assert response.status_code == 200
    body = text(response)
    assert "2025年10月" in body and "国庆节" in body and "设置某日" in body
    response = client.get("/calendar/?year=2027&month=2")
    assert response.status_code == 200
    assert "待国务院公布后核对" in text(response)


@pytest.mark.parametrize("owner", ["sys_admin", "sec_admin", "audit_admin"])
def test_admin_pages_are_forbidden_to_the_other_admins_and_agents(users, org, audit_row, owner):
    for url, _ in admin_pages(users, org, audit_row)[owner]:
        for other in {"sys_admin", "sec_admin", "audit_admin", "agent"} - {owner}:
            response = client_for(getattr(users, other)).get(url)
            assert response.status_code == 403, (other, url, response.status_code)
            assert "无权访问" in text(response)


def test_the_system_admin_cannot_open_the_audit_log(users):
    client = client_for(users.sys_admin)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export/").status_code == 403


def test_the_audit_admin_cannot_write_through_the_pages(users, org):
    client = client_for(users.audit_admin)
    accounts, roles, days = (
        User.objects.count(),
        RoleAssignment.objects.count(),
        CalendarDay.objects.count(),
    )

    response = client.post(
        "/accounts/new/", {"username": "intruder", "display_name": "越权", "platform": org.sy.pk}
    )
    assert response.status_code == 403
    response = client.post(
        f"/security/roles/{users.agent.pk}/", {"op": "assign", "role": "dispatcher"}
    )
    assert response.status_code == 403
    response = client.post(
        "/calendar/day/", {"date": "2026-12-31", "kind": "holiday", "name": "假日"}
    )
    assert response.status_code == 403
    response = client.post(f"/accounts/{users.agent.pk}/disable/")
    assert response.status_code == 403

    assert (
        User.objects.count() == accounts and not User.objects.filter(username="intruder").exists()
    )
    assert RoleAssignment.objects.count() == roles
    assert CalendarDay.objects.count() == days
    users.agent.refresh_from_db()
    assert users.agent.is_active


def test_the_audit_log_has_no_door_to_change_it(users, audit_row):
    client = client_for(users.audit_admin)
    assert client.post(f"/audit/{audit_row.pk}/").status_code == 405
    assert client.post("/audit/").status_code == 405
    body = text(client.get(f"/audit/{audit_row.pk}/"))
    content = body.split('id="main"')[1]
    assert 'method="post"' not in content and "删除" not in content


# --- accounts -----------------------------------------------------------------------------


def test_account_list_filters_and_masks_phones(users, org):
    client = client_for(users.sys_admin)
    body = text(client.get("/accounts/"))
    assert "138****5678" in body and "13812345678" not in body
    assert "话务员" in body and "系统管理员" in body

    body = text(client.get("/accounts/", {"role": "unit_handler"}))
    assert "handler_rs" in body and "agent_sy" not in body
    body = text(client.get("/accounts/", {"q": "张敏"}))
    assert "agent_sy" in body and "handler_rs" not in body
    body = text(client.get("/accounts/", {"platform": org.yz.pk}))
    assert "agent_yz" in body and "agent_sy" not in body

    services.user_set_active(actor=None, user=users.dispatcher, active=False)
    body = text(client.get("/accounts/", {"status": "disabled"}))
    assert "dispatcher_sy" in body and "agent_sy" not in body

    response = client.get("/accounts/", {"status": "whatever"})
    assert response.status_code == 400 and "查询条件有误" in text(response)


def test_create_account_shows_the_initial_password_once_and_audits(users, org):
    client = client_for(users.sys_admin)
    response = client.post(
        "/accounts/new/",
        {
            "username": "wangwu",
            "display_name": "王五",
            "employee_no": "A1001",
            "phone": "13900001111",
            "email": "",
            "platform": org.sy.pk,
            "unit": org.sy_units[1].pk,
            "team": "",
        },
    )
    assert response.status_code == 201
    body = text(response)
    password = re.search(r'id="initial-password">([^<]+)<', body).group(1)
    assert "只显示这一次" in body and "安全管理员" in body and "首次登录" in body

    user = User.objects.get(username="wangwu")
    assert user.check_password(password.replace("&amp;", "&"))
    assert user.must_change_password and user.unit == org.sy_units[1]
    entry = AuditEntry.objects.get(action="user.create", object_id=str(user.pk))
    assert entry.actor_id == users.sys_admin.pk
    assert password not in str(entry.changes) + str(entry.detail)

    # The detail page never shows it again.
    assert password not in text(client.get(f"/accounts/{user.pk}/"))

    # A second account with the same login name is refused in Chinese.
    response = client.post(
        "/accounts/new/", {"username": "wangwu", "display_name": "王五二", "platform": org.sy.pk}
    )
    assert response.status_code == 400 and "已被使用" in text(response)


def test_create_account_rejects_a_unit_of_another_platform(users, org):
    client = client_for(users.sys_admin)
    response = client.post(
        "/accounts/new/",
        {
            "username": "mismatch",
            "display_name": "错配",
            "platform": org.sy.pk,
            "unit": org.yz_unit.pk,
        },
    )
    assert response.status_code == 400
    assert "承办单位不属于所选平台" in text(response)
    assert not User.objects.filter(username="mismatch").exists()


def test_account_edit_keeps_the_phone_unless_a_new_one_is_typed(users, org):
    client = client_for(users.sys_admin)
    response = client.post(
        f"/accounts/{users.agent.pk}/",
        {
            "display_name": "张敏",
            "employee_no": "B2002",
            "phone": "",
            "email": "zm@example.cn",
            "platform": org.sy.pk,
            "unit": "",
            "team": "",
        },
    )
    assert response.status_code == 302
    users.agent.refresh_from_db()
    assert users.agent.employee_no == "B2002" and users.agent.phone == "13812345678"
    assert AuditEntry.objects.filter(action="user.update", object_id=str(users.agent.pk)).exists()


def test_account_actions(users, org):
    client = client_for(users.sys_admin)
    agent = users.agent

    assert client.post(f"/accounts/{agent.pk}/disable/").status_code == 302
    agent.refresh_from_db()
    assert not agent.is_active
    assert client.post(f"/accounts/{agent.pk}/enable/").status_code == 302
    agent.refresh_from_db()
    assert agent.is_active

    User.objects.filter(pk=agent.pk).update(
        failed_logins=5, locked_until=dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    )
    assert "锁定" in text(client.get(f"/accounts/{agent.pk}/"))
    assert client.post(f"/accounts/{agent.pk}/unlock/").status_code == 302
    agent.refresh_from_db()
    assert agent.locked_until is None and agent.failed_logins == 0

    response = client.post(f"/accounts/{agent.pk}/reset-password/")
    assert response.status_code == 200
    password = re.search(r'id="initial-password">([^<]+)<', text(response)).group(1)
    agent.refresh_from_db()
    assert agent.check_password(password.replace("&amp;", "&")) and agent.must_change_password

    # Reading the full number needs phone.reveal, which a system admin does not hold.
    assert client.post(f"/accounts/{agent.pk}/reveal-phone/").status_code == 403
    assert not AuditEntry.objects.filter(action="phone.reveal").exists()
    assert client.post(f"/accounts/{agent.pk}/explode/").status_code == 404
    assert client.get(f"/accounts/{agent.pk}/disable/").status_code == 405


def test_system_admin_may_not_take_over_the_other_admins(users):
    client = client_for(users.sys_admin)
    body = text(client.get(f"/accounts/{users.sec_admin.pk}/"))
    assert "三权分立" in body and "重置密码" not in body.split("app-content")[1]
    response = client.post(f"/accounts/{users.sec_admin.pk}/reset-password/")
    assert response.status_code == 403


def test_accounts_outside_the_scope_are_not_found(users, org, make_user):
    county_admin = make_user("sys_admin", platform=org.yz, username="yz_sysadmin")
    client = client_for(county_admin)
    assert client.get(f"/accounts/{users.yz_agent.pk}/").status_code == 200
    assert client.get(f"/accounts/{users.agent.pk}/").status_code == 404
    assert client.post(f"/accounts/{users.agent.pk}/disable/").status_code == 404
    assert client.get("/accounts/999999/").status_code == 404
    assert "agent_sy" not in text(client.get("/accounts/"))


# --- security -----------------------------------------------------------------------------


def test_assign_and_revoke_a_role(users):
    client = client_for(users.sec_admin)
    url = f"/security/roles/{users.agent.pk}/"
    assert client.post(url, {"op": "assign", "role": "callback"}).status_code == 302
    assert RoleAssignment.objects.filter(user=users.agent, role="callback").exists()
    assert "已为" in text(client.get(url))
    assert client.post(url, {"op": "revoke", "role": "callback"}).status_code == 302
    assert not RoleAssignment.objects.filter(user=users.agent, role="callback").exists()
    assert AuditEntry.objects.filter(action="role.assign", object_id=str(users.agent.pk)).exists()
    assert AuditEntry.objects.filter(action="role.revoke", object_id=str(users.agent.pk)).exists()

    response = client.post(url, {"op": "assign", "role": "emperor"})
    assert response.status_code == 400 and "未知的角色" in text(response)


def test_a_second_admin_role_is_refused_with_the_separation_message(users):
    client = client_for(users.sec_admin)
    before = RoleAssignment.objects.count()
    response = client.post(
        f"/security/roles/{users.sys_admin.pk}/", {"op": "assign", "role": "audit_admin"}
    )
    assert response.status_code == 400
    assert "三权分立：该账号已是系统管理员，不能再担任审计管理员" in text(response)
    response = client.post(
        f"/security/roles/{users.agent.pk}/", {"op": "assign", "role": "sys_admin"}
    )
    assert response.status_code == 400
    assert "三权分立" in text(response) and "专用账号" in text(response)
    assert RoleAssignment.objects.count() == before


def test_the_security_admin_cannot_change_his_own_roles(users):
    client = client_for(users.sec_admin)
    assert "不能修改自己的角色" in text(client.get(f"/security/roles/{users.sec_admin.pk}/"))
    response = client.post(
        f"/security/roles/{users.sec_admin.pk}/", {"op": "revoke", "role": "sec_admin"}
    )
    assert response.status_code == 403
    assert RoleAssignment.objects.filter(user=users.sec_admin, role="sec_admin").exists()


def test_roles_list_searches(users):
    client = client_for(users.sec_admin)
    body = text(client.get("/security/roles/", {"q": "王芳"}))
    assert "handler_rs" in body and "agent_sy" not in body
    body = text(client.get("/security/roles/", {"role": "audit_admin"}))
    assert "auditadmin" in body and "handler_rs" not in body


def test_permission_matrix(users):
    client = client_for(users.sec_admin)
    body = text(client.get("/security/permissions/"))
    assert "权限固定" in body and "专属权限" in body
    assert 'id="role-sys_admin"' in body

    response = client.post(
        "/security/permissions/", {"role": "agent", "permission": "phone.reveal", "granted": "1"}
    )
    assert response.status_code == 302 and response["Location"].endswith("#role-agent")
    assert RolePermission.objects.filter(role="agent", permission="phone.reveal").exists()
    response = client.post(
        "/security/permissions/", {"role": "agent", "permission": "phone.reveal", "granted": "0"}
    )
    assert response.status_code == 302
    assert not RolePermission.objects.filter(role="agent", permission="phone.reveal").exists()

    # Reserved and fixed cells refuse a crafted request too.
    response = client.post(
        "/security/permissions/", {"role": "agent", "permission": "audit.read", "granted": "1"}
    )
    assert response.status_code == 403
    response = client.post(
        "/security/permissions/", {"role": "sys_admin", "permission": "org.view", "granted": "0"}
    )
    assert response.status_code == 403
    assert RolePermission.objects.filter(role="sys_admin", permission="org.view").exists()
    response = client.post(
        "/security/permissions/", {"role": "agent", "permission": "nope", "granted": "maybe"}
    )
    assert response.status_code == 400 and "未知的权限" in text(response)


def test_security_policy(users):
    client = client_for(users.sec_admin)
    data = {
        "min_password_length": 10,
        "password_classes": 3,
        "lockout_threshold": 5,
        "lockout_minutes": 15,
        "idle_timeout_minutes": 30,
    }
    assert client.post("/security/policy/", data).status_code == 302
    assert services.SecurityPolicy.current().min_password_length == 10
    assert AuditEntry.objects.filter(action="policy.update").exists()

    response = client.post("/security/policy/", {**data, "min_password_length": 4})
    assert response.status_code == 400 and "密码最小长度须在 8–64 之间" in text(response)
    response = client.post("/security/policy/", {**data, "lockout_minutes": "abc"})
    assert response.status_code == 400 and "请输入整数" in text(response)
    assert services.SecurityPolicy.current().min_password_length == 10


# --- audit --------------------------------------------------------------------------------


def test_audit_log_lists_filters_and_shows_the_diff(users, audit_row):
    client = client_for(users.audit_admin)
    body = text(client.get("/audit/"))
    assert "修改账号" in body and "分配角色" in body  # Chinese action labels
    body = text(client.get("/audit/", {"action": "user.update"}))
    assert "话务员张敏敏" in body and "分配角色</span>" not in body
    today = dt.date.today().isoformat()
    assert (
        client.get("/audit/", {"start": today, "end": "2099-12-31", "text": "张敏"}).status_code
        == 200
    )

    body = text(client.get(f"/audit/{audit_row.pk}/"))
    assert "姓名" in body and "话务员张敏" in body and "话务员张敏敏" in body
    assert "修改前" in body and "修改后" in body and "&quot;channel&quot;" in body


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2025-13-45"},
        {"end": "not a date"},
        {"start": "2025-05-02", "end": "2025-05-01"},
        {"action": "no.such.action"},
    ],
)
def test_bad_audit_filters_are_a_chinese_400(users, params):
    client = client_for(users.audit_admin)
    response = client.get("/audit/", params)
    assert response.status_code == 400
    assert "查询条件有误" in text(response)
    assert client.get("/audit/export/", params).status_code == 400


def test_audit_export_is_an_xlsx_with_chinese_headers(users, audit_row):
    client = client_for(users.audit_admin)
    response = client.get("/audit/export/", {"action": "user.update"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = unquote(response["Content-Disposition"])
    assert re.search(r"审计日志-\d{8}\.xlsx", disposition)
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("时间", "操作人", "IP 地址", "操作")
    assert len(rows) == 2 and rows[1][3] == "修改账号"


# --- organisation -------------------------------------------------------------------------


def test_unit_staff_see_only_their_own_unit(users, org):
    services.role_permission_set(
        actor=None, role="unit_handler", permission="org.view", granted=True
    )
    client = client_for(users.handler)
    response = client.get(f"/org/units/{org.sy_units[1].pk}/")
    assert response.status_code == 404
    response = client.get(f"/org/units/{org.sy_units[0].pk}/")
    assert response.status_code == 200 and "人社局王芳" in text(response)
    assert "/djadmin/" not in text(response)
    body = text(client.get("/org/"))
    assert "三亚市人力资源和社会保障局" in body
    assert "三亚市住房和城乡建设局" not in body and "住建局赵磊" not in body


def test_org_pages_need_org_rights(users, org):
    # The audit admin holds neither org.view nor org.manage; a unit handler has no
    # org.view by default.
    assert client_for(users.audit_admin).get("/org/").status_code == 403
    assert client_for(users.handler).get(f"/org/units/{org.sy_units[0].pk}/").status_code == 403
    assert client_for(users.agent).get("/org/").status_code == 200


# --- calendar -----------------------------------------------------------------------------


def test_calendar_maintenance(users):
    client = client_for(users.sys_admin)
    response = client.post(
        "/calendar/day/",
        {"date": "2026-12-31", "kind": "holiday", "name": "跨年假日", "provisional": "on"},
    )
    assert response.status_code == 302 and response["Location"].endswith("year=2026&month=12")
    day = CalendarDay.objects.get(date=dt.date(2026, 12, 31))
    assert day.name == "跨年假日" and day.provisional
    body = text(client.get(response["Location"]))
    assert "跨年假日" in body

    response = client.post(
        "/calendar/day/", {"date": "2026-12-30", "kind": "workday", "name": "调休"}
    )
    assert response.status_code == 400 and "调休上班日应为周六或周日" in text(response)
    response = client.post("/calendar/day/", {"date": "2026-02-30", "kind": "holiday", "name": "x"})
    assert response.status_code == 400 and "日期格式不正确" in text(response)

    assert client.post("/calendar/day/2026-12-31/remove/").status_code == 302
    assert not CalendarDay.objects.filter(date=dt.date(2026, 12, 31)).exists()
    assert client.post("/calendar/day/2026-13-01/remove/").status_code == 404
    assert client.post("/calendar/day/2026-12-29/remove/").status_code == 404

    CalendarDay.objects.filter(date__year=2024).delete()
    response = client.post("/calendar/load/", follow=True)
    assert "已导入内置节假日与调休安排" in text(response)
    assert CalendarDay.objects.filter(date__year=2024).exists()


def test_calendar_viewing_and_deadline_tool(users):
    client = client_for(users.agent)
    body = text(client.get("/calendar/?year=2025&month=10"))
    assert "国庆节" in body and "设置某日" not in body and "calendar_day_remove" not in body
    # 3 working days from Monday 2025-09-29 09:00 is Friday 2025-10-10 (National Day).
    response = client.get(
        "/calendar/",
        {"year": 2025, "month": 10, "start": "2025-09-29T09:00", "days": 3, "hours": 4},
    )
    assert response.status_code == 200
    body = text(response)
    assert "2025-10-10 09:00" in body and "星期五" in body
    assert "2025-09-29 15:00" in body  # 09:00–12:00, then 14:00–15:00 after lunch

    response = client.get("/calendar/", {"start": "2025-09-29T09:00"})
    assert response.status_code == 400 and "请填写工作日数或工作小时数" in text(response)
    response = client.get("/calendar/", {"start": "yesterday", "days": "-1"})
    assert response.status_code == 400
    response = client.get("/calendar/", {"start": "9999-12-31T10:00", "days": 365})
    assert response.status_code == 400 and "起算时间须在 2000–2100 年之间" in text(response)
    response = client.get("/calendar/", {"year": "abc", "month": "13"})
    assert response.status_code == 400 and "年份须为数字" in text(response)

    assert (
        client.post(
            "/calendar/day/", {"date": "2026-12-31", "kind": "holiday", "name": "x"}
        ).status_code
        == 403
    )
    assert client_for(users.audit_admin).get("/calendar/").status_code == 403


def test_audit_record_masks_phones_and_names_related_rows(users, org):
    services.user_update(actor=None, user=users.handler, phone="13900002222", unit=org.sy_units[1])
    entry = AuditEntry.objects.filter(action="user.update").latest("pk")
    client = client_for(users.audit_admin)
    body = text(client.get(f"/audit/{entry.pk}/"))
    assert "139****2222" in body and "13900002222" not in body
    assert f"三亚市住房和城乡建设局（#{org.sy_units[1].pk}）" in body
    listing = text(client.get("/audit/", {"action": "user.update"}))
    assert "139****2222" in listing and "13900002222" not in listing


ODD = [
    "abc",
    "-1",
    "0",
    "99999999999999999999",
    "2025-02-30",
    "\u0000",
    "<script>",
    "%",
    "' OR 1=1 --",
    "x" * 500,
]


@pytest.mark.parametrize("value", ODD)
def test_odd_input_is_never_a_server_error(users, org, value):
    sys_admin, sec_admin = client_for(users.sys_admin), client_for(users.sec_admin)
    audit_admin = client_for(users.audit_admin)
    checks = [
        sys_admin.get(
            "/accounts/",
            {
                "platform": value,
                "unit": value,
                "role": value,
                "status": value,
                "q": value,
                "page": value,
            },
        ),
        sys_admin.post(
            "/accounts/new/",
            {
                "username": value,
                "display_name": value,
                "platform": value,
                "unit": value,
                "team": value,
                "phone": value,
                "email": value,
            },
        ),
        sys_admin.post(
            f"/accounts/{users.agent.pk}/",
            {"display_name": value, "platform": value, "phone": value},
        ),
        sys_admin.get(
            "/calendar/",
            {
                "year": value,
                "month": value,
                "start": value,
                "days": value,
                "hours": value,
                "date": value,
            },
        ),
        sys_admin.post("/calendar/day/", {"date": value, "kind": value, "name": value}),
        sys_admin.post(f"/calendar/day/{value[:50]}/remove/"),
        sec_admin.get("/security/roles/", {"role": value, "q": value, "page": value}),
        sec_admin.post(f"/security/roles/{users.agent.pk}/", {"op": value, "role": value}),
        sec_admin.post(
            "/security/permissions/", {"role": value, "permission": value, "granted": value}
        ),
        sec_admin.post(
            "/security/policy/",
            dict.fromkeys(
                [
                    "min_password_length",
                    "password_classes",
                    "lockout_threshold",
                    "lockout_minutes",
                    "idle_timeout_minutes",
                ],
                value,
            ),
        ),
        audit_admin.get(
            "/audit/",
            {
                "start": value,
                "end": value,
                "actor": value,
                "action": value,
                "object_type": value,
                "text": value,
                "page": value,
            },
        ),
        audit_admin.get("/audit/export/", {"start": value, "text": value}),
    ]
    for response in checks:
        assert response.status_code < 500, (value, response.status_code)
