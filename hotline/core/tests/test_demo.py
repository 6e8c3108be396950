"""The demo hotline: built through the services, every role present, logins work."""

import io

import pytest
from django.contrib.auth import authenticate

from hotline.core import demo
from hotline.core.errors import Conflict
from hotline.core.models import (
    AuditEntry,
    HandlingUnit,
    Platform,
    RoleAssignment,
    Team,
    User,
    UserSkill,
)
from hotline.core.roles import ADMIN_ROLES, ROLES
from hotline.core.scope import scope_of


@pytest.fixture
def loaded(db):
    out = io.StringIO()
    summary = demo.load_demo(orders=100, calls=50, stdout=out)
    return summary, out.getvalue()


def test_counts_and_summary(loaded):
    summary, output = loaded
    assert Platform.objects.count() == summary["platforms"] == 3
    sy = Platform.objects.get(code="SY")
    assert sy.parent.code == "HN" and sy.hotline_number == "12345"
    assert Platform.objects.get(code="YZ").parent == sy
    assert HandlingUnit.objects.filter(platform=sy).count() >= 30
    assert HandlingUnit.objects.filter(platform__code="YZ").exists()
    assert summary["units"] == HandlingUnit.objects.count()
    assert User.objects.count() == summary["users"] == len(demo.plan())
    held = set(RoleAssignment.objects.values_list("role", flat=True))
    assert held == set(ROLES)
    assert RoleAssignment.objects.filter(role="agent", user__platform=sy).count() >= 60
    assert summary["users_by_role"]["agent"] == RoleAssignment.objects.filter(role="agent").count()
    # Work orders load their history; calls have no loader yet, and the summary says so.
    assert summary["orders"] == {"requested": 100, "created": 100}
    assert summary["calls"] == {"requested": 50, "created": 0}
    assert len(summary["notes"]) == 1
    assert "承办单位" in output


def test_names_phones_and_units_are_realistic(loaded):
    users = list(User.objects.all())
    names = [u.display_name for u in users]
    assert len(names) == len(set(names))
    phones = [u.phone for u in users]
    assert len(phones) == len(set(phones))
    assert all(len(p) == 11 and p.isdigit() and p[:2] in {"13", "15", "18"} for p in phones)
    unit = HandlingUnit.objects.get(platform__code="SY", code="RSJ")
    assert unit.name == "市人力资源和社会保障局" and unit.short_name == "市人社局"
    assert all(u.contact_phone.startswith("0898-88") for u in HandlingUnit.objects.all())
    assert set(HandlingUnit.objects.values_list("kind", flat=True)) == set(HandlingUnit.Kind.values)


def test_teams_leaders_and_skills(loaded):
    for team in Team.objects.filter(name__in=demo.org()["teams"]["SY"]["shifts"]):
        assert team.leader is not None
        assert team.leader.role_codes == ["team_leader"]
        assert team.members.filter(role_assignments__role="agent").count() == demo.AGENTS_PER_SHIFT
    assert Team.objects.get(name="崖州话务组").leader.platform.code == "YZ"
    for agent in User.objects.filter(role_assignments__role="agent"):
        levels = list(UserSkill.objects.filter(user=agent).values_list("level", flat=True))
        assert 2 <= len(levels) <= 4
        assert all(1 <= level <= 5 for level in levels)
        assert all(s.platform_id == agent.platform_id for s in agent.skills.all())
    for language in ("english", "russian", "sign"):
        assert UserSkill.objects.filter(skill__code=language).exists()


def test_every_demo_login_authenticates_with_its_role(loaded):
    assert [d["role"] for d in demo.DEMO_LOGINS] == list(ROLES)
    for login in demo.DEMO_LOGINS:
        user = authenticate(None, username=login["username"], password=login["password"])
        assert user is not None, login["username"]
        assert login["role"] in user.role_codes
        assert login["role_name"] == ROLES[login["role"]].name
        assert user.display_name == login["display_name"]
        assert not user.must_change_password
        assert login["note"]
    usernames = {d["username"] for d in demo.DEMO_LOGINS}
    assert {
        "agent01",
        "leader01",
        "dispatch01",
        "callback01",
        "qa01",
        "kb01",
        "analyst01",
        "trainer01",
        "manager01",
        "office01",
        "unit_rsj01",
        "sysadmin",
        "secadmin",
        "auditadmin",
    } == usernames


def test_three_powers_are_separate(loaded):
    for user in User.objects.filter(role_assignments__role__in=ADMIN_ROLES):
        assert len(user.role_codes) == 1, user.username
        assert user.platform.code == "HN"
        assert scope_of(user).platform_ids == frozenset(
            Platform.objects.values_list("pk", flat=True)
        )


def test_unit_handler_sees_only_his_unit(loaded):
    handler = User.objects.get(username="unit_rsj01")
    assert handler.unit.name == "市人力资源和社会保障局"
    scope = scope_of(handler)
    assert scope.unit_id == handler.unit_id
    assert not scope.covers_platform(handler.platform_id)


def test_everything_is_audited_as_cli(loaded):
    summary, _ = loaded
    created = AuditEntry.objects.filter(action="user.create")
    assert created.count() == summary["users"]
    assert not AuditEntry.objects.exclude(detail__channel="cli").exists()
    # The organisation is built by the CLI itself; the historical orders are the acts of
    # the demo's staff (agents, dispatchers …), made through the CLI channel.
    built = AuditEntry.objects.exclude(action__startswith="workorder.")
    assert set(built.values_list("actor_name", flat=True)) == {"命令行"}
    assert AuditEntry.objects.filter(action="team.update").count() == 7


def test_second_run_is_refused(loaded):
    with pytest.raises(Conflict, match="演示数据已存在"):
        demo.load_demo()
    assert Platform.objects.count() == 3


def test_extensions_receive_the_context(db, monkeypatch):
    seen = {}

    def history(context):
        seen.update(context)
        context["created"]["orders"] += 7

    monkeypatch.setattr(demo, "DEMO_EXTENSIONS", [history])
    summary = demo.load_demo(orders=7)
    assert summary["orders"] == {"requested": 7, "created": 7}
    assert summary["notes"] == []
    assert seen["units"]["RSJ"].name == "市人力资源和社会保障局"
    assert seen["users"]["agent01"].team.name == "早班一组"
    assert seen["platforms"]["YZ"].parent_id == seen["platforms"]["SY"].pk


def test_a_failing_extension_leaves_nothing(db, monkeypatch):
    def broken(context):
        raise RuntimeError("boom")

    monkeypatch.setattr(demo, "DEMO_EXTENSIONS", [broken])
    with pytest.raises(RuntimeError):
        demo.load_demo()
    assert not Platform.objects.exists() and not User.objects.exists()
