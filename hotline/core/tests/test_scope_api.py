"""Data scope (数据权限) through the REST API.

A handling unit's staff see their own unit only; everyone else sees their own platform
and the platforms below it. Records out of scope read as "not found" (404), never as
"forbidden", so that their existence is not disclosed. Requests without valid
credentials get 401 with a Chinese message.
"""

import pytest
from django.utils import timezone

from hotline.core import services
from hotline.core.models import ApiToken, HandlingUnit, User


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["items"] if isinstance(body, dict) else body
    return {row["id"] for row in rows}


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture
def hn_unit(org):
    """A unit directly under the province: an HN-only record."""
    return HandlingUnit.objects.create(platform=org.hn, code="HNGA", name="海南省公安厅")


# --- unit staff -------------------------------------------------------------------------------


def test_unit_handler_sees_only_his_unit(users, org, api):
    client = api(users.handler)
    own, other = org.sy_units[0], org.sy_units[1]
    assert ids(client.get("/api/org/units")) == {own.pk}
    assert client.get(f"/api/org/units/{own.pk}").status_code == 200
    for unit in (other, org.sy_units[2], org.yz_unit):
        response = client.get(f"/api/org/units/{unit.pk}")
        assert response.status_code == 404, unit
        assert is_chinese(response.json()["detail"])
    assert ids(client.get("/api/org/platforms")) == {org.sy.pk}


def test_unit_handler_sees_only_his_units_staff(users, org, make_user, api):
    colleague = make_user("unit_handler", unit=org.sy_units[0])
    client = api(users.handler)
    assert ids(client.get("/api/users")) == {users.handler.pk, colleague.pk}
    assert client.get(f"/api/users/{colleague.pk}").status_code == 200
    for outsider in (
        users.other_handler,
        users.agent,
        users.dispatcher,
        users.yz_agent,
        users.sys_admin,
    ):
        response = client.get(f"/api/users/{outsider.pk}")
        assert response.status_code == 404, outsider
    # searching does not widen the scope
    assert ids(client.get("/api/users", {"q": "住建局"})) == set()
    assert ids(client.get("/api/users", {"role": "agent"})) == set()


def test_unit_handler_cannot_act_on_other_units_staff(users, api):
    response = api(users.handler).post(f"/api/users/{users.other_handler.pk}/reveal-phone")
    assert response.status_code in (403, 404)


# --- platform levels ---------------------------------------------------------------------------


def test_county_agent_does_not_see_the_city(users, org, api):
    client = api(users.yz_agent)
    assert ids(client.get("/api/org/units")) == {org.yz_unit.pk}
    assert ids(client.get("/api/org/platforms")) == {org.yz.pk}
    for unit in org.sy_units:
        assert client.get(f"/api/org/units/{unit.pk}").status_code == 404
    visible = ids(client.get("/api/users"))
    assert users.yz_agent.pk in visible
    assert not visible & {users.agent.pk, users.dispatcher.pk, users.handler.pk, users.sys_admin.pk}
    assert client.get(f"/api/users/{users.agent.pk}").status_code == 404


def test_province_user_sees_everything_below(users, org, hn_unit, make_user, api):
    province_agent = make_user("agent", platform=org.hn)
    client = api(province_agent)
    everything = {u.pk for u in HandlingUnit.objects.all()}
    assert ids(client.get("/api/org/units")) == everything
    assert ids(client.get("/api/org/platforms")) == {org.hn.pk, org.sy.pk, org.yz.pk}
    assert ids(client.get("/api/users", {"limit": 100})) == set(
        User.objects.values_list("pk", flat=True)
    )
    for unit in (org.sy_units[2], org.yz_unit, hn_unit):
        assert client.get(f"/api/org/units/{unit.pk}").status_code == 200
    assert client.get(f"/api/users/{users.yz_agent.pk}").status_code == 200


def test_city_dispatcher_sees_city_and_county_but_not_province(users, org, hn_unit, api):
    client = api(users.dispatcher)
    assert ids(client.get("/api/org/units")) == {*(u.pk for u in org.sy_units), org.yz_unit.pk}
    assert ids(client.get("/api/org/platforms")) == {org.sy.pk, org.yz.pk}
    assert client.get(f"/api/org/units/{hn_unit.pk}").status_code == 404
    assert client.get(f"/api/org/units/{org.yz_unit.pk}").status_code == 200
    visible = ids(client.get("/api/users", {"limit": 100}))
    assert {users.agent.pk, users.handler.pk, users.yz_agent.pk} <= visible
    assert not visible & {users.sys_admin.pk, users.sec_admin.pk, users.audit_admin.pk}
    assert client.get(f"/api/users/{users.sys_admin.pk}").status_code == 404
    assert client.get(f"/api/users/{users.yz_agent.pk}").status_code == 200


def test_paging_counts_only_visible_rows(users, api):
    body = api(users.handler).get("/api/users", {"limit": 1}).json()
    assert body["count"] == 1
    assert len(body["items"]) == 1


# --- credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/me", "/api/users", "/api/org/units", "/api/audit"])
def test_unauthenticated_is_401_in_chinese(db, api, url):
    response = api(None).get(url)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert is_chinese(response.json()["detail"])


@pytest.mark.parametrize(
    "header", ["Bearer hl_notarealtoken", "Bearer ", "Basic YWJjOmRlZg==", "Bearer " + "x" * 500]
)
def test_bad_credentials_are_401(users, client, header):
    response = client.get("/api/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert is_chinese(response.json()["detail"])


def test_revoked_token_is_401(users, api):
    client = api(users.agent)
    assert client.get("/api/me").status_code == 200
    token = ApiToken.objects.filter(user=users.agent).get()
    services.token_revoke(actor=users.agent, token=token)
    response = client.get("/api/me")
    assert response.status_code == 401
    assert is_chinese(response.json()["detail"])


def test_disabled_users_token_is_401(users, api):
    client = api(users.agent)
    assert client.get("/api/me").status_code == 200
    services.user_set_active(actor=users.sys_admin, user=users.agent, active=False)
    assert client.get("/api/me").status_code == 401


def test_token_of_a_user_disabled_behind_the_services_back_is_401(users, api):
    """Even if the token was somehow left active, an inactive account's token is refused."""
    client = api(users.agent)
    User.objects.filter(pk=users.agent.pk).update(is_active=False)
    assert ApiToken.objects.filter(user=users.agent, revoked_at__isnull=True).exists()
    assert client.get("/api/me").status_code == 401


def test_token_use_is_recorded(users, api):
    client = api(users.agent)
    client.get("/api/me")
    token = ApiToken.objects.get(user=users.agent)
    assert token.last_used_at is not None
    assert (timezone.now() - token.last_used_at).total_seconds() < 60
