"""The audit log (审计日志): every write leaves exactly one row saying who, from where,
what and the before/after; a refused write leaves none; rows can never be changed or
removed, whatever the client; and no password ever reaches it."""

import datetime as dt
import inspect
import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from hotline.core import audit, services
from hotline.core.errors import HotlineError, Invalid
from hotline.core.models import ApiToken, AuditEntry, Skill, Team, User

NEW_PASSWORD = "Zq8#newpass"


def one_new_row(before_pk: int) -> AuditEntry:
    rows = list(AuditEntry.objects.filter(pk__gt=before_pk))
    assert len(rows) == 1, [r.action for r in rows]
    return rows[0]


def last_pk() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- every service write leaves exactly one row ------------------------------------------------
#
# Each case: (action expected, function(users, org) → the write to perform). Preparation
# happens in the outer function, before the audit rows are counted.


def _user_skill_set(u, o):
    skill = Skill.objects.create(platform=o.sy, code="shebao", name="社保")
    return lambda: services.user_skill_set(actor=u.sys_admin, user=u.agent, skill=skill, level=4)


def _team_set_leader(u, o):
    team = Team.objects.create(platform=o.sy, name="甲班")
    return lambda: services.team_set_leader(actor=u.sys_admin, team=team, leader=u.agent)


def _token_revoke(u, o):
    token, _ = services.token_create(actor=None, user=u.agent, name="待吊销")
    return lambda: services.token_revoke(actor=u.agent, token=token)


def _user_unlock(u, o):
    User.objects.filter(pk=u.agent.pk).update(
        failed_logins=0, locked_until=dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    )
    u.agent.refresh_from_db()
    return lambda: services.user_unlock(actor=u.sys_admin, user=u.agent)


def _calendar_update(u, o):
    services.calendar_day_set(actor=None, date=dt.date(2026, 3, 2), kind="holiday", name="甲")
    return lambda: services.calendar_day_set(
        actor=u.sys_admin, date=dt.date(2026, 3, 2), kind="holiday", name="乙"
    )


CASES = {
    "platform_create": (
        "platform.create",
        lambda u, o: (
            lambda: services.platform_create(
                actor=u.sys_admin, code="TY", name="天涯区12345热线", level="county", parent=o.sy
            )
        ),
    ),
    "platform_update": (
        "platform.update",
        lambda u, o: (
            lambda: services.platform_update(
                actor=u.sys_admin, platform=o.yz, hotline_number="0898-12345"
            )
        ),
    ),
    "unit_create": (
        "unit.create",
        lambda u, o: (
            lambda: services.unit_create(
                actor=u.sys_admin, platform=o.sy, code="SYJT", name="三亚市交通运输局"
            )
        ),
    ),
    "unit_update": (
        "unit.update",
        lambda u, o: (
            lambda: services.unit_update(
                actor=u.sys_admin, unit=o.sy_units[2], contact_phone="0898-88261234"
            )
        ),
    ),
    "team_create": (
        "team.create",
        lambda u, o: lambda: services.team_create(actor=u.sys_admin, platform=o.sy, name="乙班"),
    ),
    "team_set_leader": ("team.update", _team_set_leader),
    "skill_create": (
        "skill.create",
        lambda u, o: (
            lambda: services.skill_create(
                actor=u.sys_admin, platform=o.sy, code="yibao", name="医保"
            )
        ),
    ),
    "user_skill_set": ("user.skill_set", _user_skill_set),
    "user_create": (
        "user.create",
        lambda u, o: (
            lambda: services.user_create(
                actor=u.sys_admin, username="newbie", display_name="新同事", platform=o.sy
            )
        ),
    ),
    "user_update": (
        "user.update",
        lambda u, o: (
            lambda: services.user_update(actor=u.sys_admin, user=u.agent, employee_no="A1024")
        ),
    ),
    "user_set_active": (
        "user.disable",
        lambda u, o: (
            lambda: services.user_set_active(actor=u.sys_admin, user=u.agent, active=False)
        ),
    ),
    "user_reset_password": (
        "user.password_reset",
        lambda u, o: lambda: services.user_reset_password(actor=u.sys_admin, user=u.agent),
    ),
    "user_unlock": ("user.unlock", _user_unlock),
    "password_change": (
        "user.password_change",
        lambda u, o: (
            lambda: services.password_change(
                user=u.agent, old_password="Rexu#2025pw", new_password=NEW_PASSWORD
            )
        ),
    ),
    "role_assign": (
        "role.assign",
        lambda u, o: lambda: services.role_assign(actor=u.sec_admin, user=u.agent, role="callback"),
    ),
    "role_revoke": (
        "role.revoke",
        lambda u, o: (
            lambda: services.role_revoke(actor=u.sec_admin, user=u.dispatcher, role="dispatcher")
        ),
    ),
    "role_permission_set": (
        "role.permission_grant",
        lambda u, o: (
            lambda: services.role_permission_set(
                actor=u.sec_admin, role="agent", permission="phone.reveal", granted=True
            )
        ),
    ),
    "policy_update": (
        "policy.update",
        lambda u, o: lambda: services.policy_update(actor=u.sec_admin, idle_timeout_minutes=20),
    ),
    "token_create": (
        "token.create",
        lambda u, o: lambda: services.token_create(actor=u.agent, user=u.agent, name="脚本"),
    ),
    "token_revoke": ("token.revoke", _token_revoke),
    "phone_reveal": (
        "phone.reveal",
        lambda u, o: lambda: services.phone_reveal(actor=u.dispatcher, obj=u.agent),
    ),
    "calendar_day_set": (
        "calendar.add",
        lambda u, o: (
            lambda: services.calendar_day_set(
                actor=u.sys_admin, date=dt.date(2026, 3, 3), kind="holiday", name="测试假日"
            )
        ),
    ),
    "calendar_day_set (update)": ("calendar.update", _calendar_update),
    "calendar_day_remove": (
        "calendar.remove",
        lambda u, o: (
            lambda: services.calendar_day_remove(actor=u.sys_admin, date=dt.date(2025, 10, 1))
        ),
    ),
    "audit_log_exported": (
        "audit.export",
        lambda u, o: (
            lambda: services.audit_log_exported(
                actor=u.audit_admin, filters={"action": "user."}, rows=3
            )
        ),
    ),
}

# Writes that are not one person's act on one record, each with the reason.
NOT_ONE_ROW = {
    "role_permissions_seed": "install-time defaults, no person acts",
    "worker_heartbeat": "liveness of the worker, not a person's act",
    "calendar_load_shipped": "one row for the whole import (tested below)",
    "user_create_many": "one row per account (tested below)",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_service_write_leaves_exactly_one_row(users, org, name):
    action, prepare = CASES[name]
    write = prepare(users, org)
    before = last_pk()
    write()
    entry = one_new_row(before)
    assert entry.action == action
    assert entry.actor_name
    assert entry.detail["channel"] == "system"
    assert audit.action_label(entry.action) != entry.action, "动作缺少中文名称"


def test_every_core_service_write_is_covered():
    """A new service function must be added to CASES (or NOT_ONE_ROW with a reason)."""
    public = {
        name
        for name, fn in inspect.getmembers(services, inspect.isfunction)
        if fn.__module__ == services.__name__
        and not name.startswith(("_", "require"))
        and name not in ("generate_password",)
    }
    covered = {name.split(" ")[0] for name in CASES} | set(NOT_ONE_ROW)
    assert public - covered == set(), "以下服务函数没有审计测试"


def test_bulk_account_opening_leaves_one_row_per_account(users, org):
    before = last_pk()
    made = services.user_create_many(
        actor=users.sys_admin,
        password="Bulk#2025pw",
        accounts=[
            {"username": f"bulk{i}", "display_name": f"批量{i}", "platform": org.sy}
            for i in range(3)
        ],
    )
    rows = list(AuditEntry.objects.filter(pk__gt=before).order_by("pk"))
    assert [r.action for r in rows] == ["user.create"] * 3
    assert [r.object_id for r in rows] == [str(u.pk) for u in made]


def test_shipped_calendar_import_leaves_one_row(users):
    services.calendar_day_remove(actor=users.sys_admin, date=dt.date(2025, 10, 1))
    before = last_pk()
    assert services.calendar_load_shipped(actor=users.sys_admin) == 1
    assert one_new_row(before).action == "calendar.load_shipped"
    before = last_pk()
    assert services.calendar_load_shipped(actor=users.sys_admin) == 0
    assert last_pk() == before  # nothing imported, nothing to record


# --- who, from where, what ---------------------------------------------------------------------


def test_api_write_records_actor_ip_request_and_diff(users, api):
    client = api(users.sys_admin)
    before = last_pk()
    response = client.patch(
        f"/api/users/{users.agent.pk}",
        data=json.dumps({"display_name": "张敏敏"}),
        content_type="application/json",
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 200, response.content
    entry = one_new_row(before)
    assert entry.action == "user.update"
    assert entry.actor == users.sys_admin
    assert entry.actor_name == str(users.sys_admin)
    assert entry.ip == "203.0.113.7"
    assert entry.request_id == response["X-Request-ID"]
    assert entry.object_type == "core.user" and entry.object_id == str(users.agent.pk)
    assert entry.changes == {"display_name": ["话务员张敏", "张敏敏"]}
    assert entry.detail["channel"] == "api"


def test_page_session_write_records_the_signed_in_user(users, login):
    client = login(users.agent)
    before = last_pk()
    response = client.post(
        "/api/me/tokens",
        data=json.dumps({"name": "页面"}),
        content_type="application/json",
        REMOTE_ADDR="198.51.100.4",
    )
    assert response.status_code == 201, response.content
    entry = one_new_row(before)
    assert (entry.action, entry.actor, entry.ip) == ("token.create", users.agent, "198.51.100.4")


def test_client_cannot_forge_its_address(users, api):
    """X-Real-IP is set by the reverse proxy; a client talking to the application directly
    (no trusted proxy configured) must not be able to write any address it likes into
    the audit log."""
    client = api(users.sys_admin)
    before = last_pk()
    client.patch(
        f"/api/users/{users.agent.pk}",
        data=json.dumps({"employee_no": "A7"}),
        content_type="application/json",
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_REAL_IP="198.51.100.99",
    )
    assert one_new_row(before).ip == "203.0.113.7"


def test_diffs_show_before_and_after(users):
    services.policy_update(actor=users.sec_admin, idle_timeout_minutes=20)
    entry = AuditEntry.objects.get(action="policy.update")
    assert entry.changes == {"idle_timeout_minutes": [30, 20]}
    services.role_assign(actor=users.sec_admin, user=users.agent, role="qa")
    entry = AuditEntry.objects.filter(action="role.assign").latest("pk")
    assert entry.changes == {"roles": [["agent"], ["agent", "qa"]]}


def test_the_acting_user_is_recorded_outside_a_request_too(users, org):
    """A service called with ``actor=X`` from a worker, a script or the shell (no request
    sets the audit origin) still records X as the one who acted, not "系统"."""
    wrong = []
    for name in (
        "policy_update",
        "user_update",
        "role_assign",
        "calendar_day_set",
        "phone_reveal",
        "token_create",
        "unit_create",
    ):
        action, prepare = CASES[name]
        write = prepare(users, org)
        before = last_pk()
        write()
        entry = one_new_row(before)
        if entry.actor is None or entry.actor_name != str(entry.actor):
            wrong.append(f"{action} 记为“{entry.actor_name}”")
    assert wrong == []


def test_cli_writes_are_attributed_to_the_command_line(org):
    before = last_pk()
    call_command(
        "createadmin",
        "auditor2",
        role="audit_admin",
        platform="HN",
        display_name="审计管理员戊",
        password="Qr7#Lumen2025",
    )
    rows = list(AuditEntry.objects.filter(pk__gt=before).order_by("pk"))
    assert [r.action for r in rows] == ["user.create", "role.assign"]
    assert all(r.detail["channel"] == "cli" and r.actor_name == "命令行" for r in rows)


# --- refused writes leave nothing ------------------------------------------------------------------


def test_refused_write_leaves_no_row_and_no_change(users, org, api):
    client = api(users.sys_admin)
    before = last_pk()
    with pytest.raises(Invalid):
        services.user_update(actor=users.sys_admin, user=users.agent, email="不是邮箱")
    with pytest.raises(Invalid):
        services.user_update(actor=users.sys_admin, user=users.agent, unit=org.yz_unit)
    with pytest.raises(HotlineError):
        services.calendar_day_set(
            actor=users.sys_admin, date=dt.date(2026, 3, 4), kind="workday", name="周三不能调休"
        )
    response = client.patch(
        f"/api/users/{users.agent.pk}",
        data=json.dumps({"display_name": "x" * 80}),
        content_type="application/json",
    )
    assert response.status_code == 422
    response = client.patch(
        f"/api/users/{users.agent.pk}",
        data=json.dumps({"unit_id": org.yz_unit.pk}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert last_pk() == before
    fresh = User.objects.get(pk=users.agent.pk)
    assert (fresh.email, fresh.unit_id, fresh.display_name) == ("", None, "话务员张敏")


@pytest.mark.parametrize(
    "name", ["user_update", "role_assign", "calendar_day_set", "policy_update", "unit_create"]
)
def test_write_and_audit_row_commit_together(users, org, monkeypatch, name):
    """If the audit row cannot be written, the change is rolled back with it."""
    action, prepare = CASES[name]
    write = prepare(users, org)
    snapshot = _database_snapshot()

    def broken(*args, **kwargs):
        raise RuntimeError("审计存储不可用")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        write()
    assert _database_snapshot() == snapshot


def _database_snapshot():
    from hotline.core.models import (
        CalendarDay,
        HandlingUnit,
        RoleAssignment,
        SecurityPolicy,
    )

    return (
        list(User.objects.order_by("pk").values()),
        list(RoleAssignment.objects.order_by("pk").values_list("user", "role")),
        list(CalendarDay.objects.order_by("date").values_list("date", "kind", "name")),
        list(SecurityPolicy.objects.values()),
        list(HandlingUnit.objects.order_by("pk").values()),
        AuditEntry.objects.count(),
    )


# --- immutability ----------------------------------------------------------------------------------


@pytest.fixture
def entry(users):
    return audit.record(
        "user.update", users.agent, before={"phone": ""}, after={"phone": "13812345678"}
    )


def test_model_refuses_change_and_removal(entry):
    entry.action = "user.nothing"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="user.nothing")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "user.update"


def test_database_refuses_update_and_delete_from_any_client(entry, audit_purge_forbidden):
    """Raw SQL and the plain base manager bypass the model: the triggers still refuse."""
    statements = [
        ("UPDATE core_auditentry SET action = %s WHERE id = %s", ["user.nothing", entry.pk]),
        ("UPDATE core_auditentry SET changes = %s", ["{}"]),
        ("DELETE FROM core_auditentry WHERE id = %s", [entry.pk]),
        ("DELETE FROM core_auditentry", []),
    ]
    for sql, params in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry._base_manager.filter(pk=entry.pk).update(action="user.nothing")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry._base_manager.filter(pk=entry.pk)._raw_delete(connection.alias)
    kept = AuditEntry.objects.get(pk=entry.pk)
    assert kept.action == "user.update"
    assert kept.changes == {"phone": ["", "13812345678"]}


def test_appending_still_works(entry):
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    again = audit.record("user.update", entry.actor)
    assert again.pk > entry.pk


# --- no passwords ----------------------------------------------------------------------------------


def test_passwords_never_reach_the_audit_log(users, org, password, client, api):
    secrets = {
        password,
        NEW_PASSWORD,
        "Init#pass2025",
        "Reset#pass2025",
        "Wrong#guess99",
        "Qr7#Lumen2025",
        "Api#Given2025",
    }
    services.user_create(
        actor=users.sys_admin,
        username="fresh",
        display_name="新人",
        platform=org.sy,
        password="Init#pass2025",
    )
    services.user_reset_password(
        actor=users.sys_admin, user=users.dispatcher, password="Reset#pass2025"
    )
    services.password_change(user=users.agent, old_password=password, new_password=NEW_PASSWORD)
    client.post("/login/", {"username": users.agent.username, "password": "Wrong#guess99"})
    client.post("/login/", {"username": users.agent.username, "password": NEW_PASSWORD})
    call_command(
        "createadmin",
        "secops2",
        role="sec_admin",
        platform="HN",
        display_name="安全管理员己",
        password="Qr7#Lumen2025",
    )
    response = api(users.sys_admin).post(
        "/api/users",
        data=json.dumps(
            {
                "username": "viaapi",
                "display_name": "接口新人",
                "platform_id": org.sy.pk,
                "password": "Api#Given2025",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    _, key = services.token_create(actor=None, user=users.agent, name="令牌")
    secrets.add(key)
    secrets |= set(User.objects.values_list("password", flat=True))  # the hashes too
    secrets |= set(ApiToken.objects.values_list("key_hash", flat=True))
    dump = json.dumps(list(AuditEntry.objects.values()), default=str, ensure_ascii=False)
    assert AuditEntry.objects.filter(action="user.password_change").exists()
    for secret in secrets:
        assert secret not in dump


def test_audit_log_through_the_api_for_the_audit_admin(users, api):
    api(users.sys_admin).patch(
        f"/api/users/{users.agent.pk}",
        data=json.dumps({"employee_no": "A1"}),
        content_type="application/json",
    )
    body = api(users.audit_admin).get("/api/audit", {"action": "user.update"}).json()
    assert body["count"] == 1
    row = body["items"][0]
    assert row["changes"] == {"employee_no": ["", "A1"]}
    assert row["actor_name"] == str(users.sys_admin)


def test_audit_export_is_a_workbook(users, api):
    response = api(users.audit_admin).get("/api/audit/export")
    assert response.status_code == 200
    assert response.content[:2] == b"PK"
    assert "attachment" in response["Content-Disposition"]
