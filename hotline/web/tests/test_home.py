"""Home-page panels: the declarations agree with themselves, each role's home renders
with its panels, and the three admin roles see only their own (no browser needed)."""

import pytest

from hotline.core import services
from hotline.core.roles import ROLES
from hotline.web import home


def test_panel_declarations_are_consistent():
    home.check_declarations()
    assert set(home.HOME_PANELS) == set(ROLES), "every role has a home"


def test_panels_of_several_roles_are_deduplicated_in_panel_order():
    ids = home.panel_ids_for(["agent", "team_leader"])
    assert len(ids) == len(set(ids))
    assert set(ids) == set(home.HOME_PANELS["agent"]) | set(home.HOME_PANELS["team_leader"])
    orders = [home.PANELS[i].order for i in ids]
    assert orders == sorted(orders)


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_home_renders_its_panels(role, org, make_user, login):
    unit = org.sy_units[0] if role == "unit_handler" else None
    user = make_user(role, unit=unit)
    response = login(user).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for panel_id in home.HOME_PANELS[role]:
        assert f'id="panel-{panel_id}"' in html, f"{role}: {panel_id}"
    assert 'style="' not in html and "onclick=" not in html and "<style" not in html
    if role != "audit_admin":
        assert 'id="panel-audit_recent"' not in html
        assert 'href="/audit/' not in html


@pytest.mark.django_db
def test_home_without_roles_explains_what_to_do(org, make_user, login):
    user = make_user(None)
    html = login(user).get("/").content.decode()
    assert "尚未分配角色" in html


@pytest.mark.django_db
def test_token_of_another_user_cannot_be_revoked(users, login):
    token, _ = services.token_create(actor=None, user=users.dispatcher, name="脚本")
    client = login(users.agent)
    response = client.post(f"/me/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.django_db
def test_token_create_shows_the_key_once_and_refuses_an_empty_purpose(users, login):
    client = login(users.agent)
    response = client.post("/me/tokens/", {"name": ""})
    assert response.status_code == 400
    assert "这个字段是必填项" in response.content.decode()
    response = client.post("/me/tokens/", {"name": "知识库同步"})
    assert response.status_code == 201
    html = response.content.decode()
    assert 'class="new-key-value"' in html and "hl_" in html
    assert 'class="new-key-value"' not in client.get("/me/").content.decode()
