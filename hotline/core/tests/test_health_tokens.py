"""Health check, API tokens, the OpenAPI document, and how the API answers bad input."""

import hashlib
import io
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

import hotline
from hotline.core import services, tasks
from hotline.core.errors import Forbidden
from hotline.core.models import ApiToken, AuditEntry


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# --- health -----------------------------------------------------------------------------------


def test_health_needs_no_credentials(db, api):
    response = api(None).get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == hotline.__version__
    assert body["database"] == {"vendor": connection.vendor, "ok": True}
    # the embedded default has the in-process bus; CI's PostgreSQL run sets REDIS_URL
    assert body["bus"] == ("redis" if settings.REDIS_URL else "in-process")
    assert body["worker"] == {"heartbeat_age_seconds": None}
    assert body["status"] == "degraded"  # no worker has beaten yet


def test_health_reports_the_worker_heartbeat(db, api):
    services.worker_heartbeat()
    body = api(None).get("/api/health").json()
    assert 0 <= body["worker"]["heartbeat_age_seconds"] < 5
    assert body["status"] == "ok"


def test_worker_task_beats(db, api):
    tasks.heartbeat_now()  # HOTLINE_TASKS_IMMEDIATE: runs inline
    assert api(None).get("/api/health").json()["worker"]["heartbeat_age_seconds"] is not None


# --- tokens -----------------------------------------------------------------------------------


def test_tokens_are_stored_hashed(users, api):
    response = api(users.agent).post(
        "/api/me/tokens", data={"name": "数据同步脚本"}, content_type="application/json"
    )
    assert response.status_code == 201
    key = response.json()["key"]
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = json.dumps(list(ApiToken.objects.values()), default=str)
    assert key not in stored
    assert key[8:] not in stored  # beyond the visible prefix, nothing of the key is kept
    assert (
        api(None).get("/api/me", headers={"Authorization": f"Bearer {key}"}).json()["username"]
        == users.agent.username
    )


def test_tokens_are_listed_per_user(users, api):
    services.token_create(actor=None, user=users.dispatcher, name="派单员的令牌")
    mine, _ = services.token_create(actor=None, user=users.agent, name="话务员的令牌")
    listed = api(users.agent).get("/api/me/tokens").json()
    assert {t["name"] for t in listed} == {"话务员的令牌", "测试"}
    assert mine.pk in {t["id"] for t in listed}
    for row in listed:
        assert "key" not in row and "key_hash" not in row


def test_revoking_a_token_makes_its_key_useless(users, api):
    client = api(users.agent)
    created = client.post(
        "/api/me/tokens", data={"name": "临时"}, content_type="application/json"
    ).json()
    other = api(None)
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert other.get("/api/me", headers=headers).status_code == 200
    assert client.delete(f"/api/me/tokens/{created['id']}").status_code == 204
    assert other.get("/api/me", headers=headers).status_code == 401
    listed = {t["id"]: t for t in client.get("/api/me/tokens").json()}
    assert listed[created["id"]]["revoked_at"] is not None
    assert AuditEntry.objects.filter(action="token.revoke", actor=users.agent).exists()


def test_another_users_token_cannot_be_revoked(users, api):
    theirs, key = services.token_create(actor=None, user=users.dispatcher, name="派单员")
    response = api(users.agent).delete(f"/api/me/tokens/{theirs.pk}")
    assert response.status_code == 404
    assert is_chinese(response.json()["detail"])
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_no_token_for_another_user_through_the_api(users, api):
    response = api(users.sys_admin).post(
        "/api/me/tokens",
        data={"name": "代申请", "user_id": users.agent.pk, "user": users.agent.pk},
        content_type="application/json",
    )
    assert response.status_code in (201, 422)
    assert not ApiToken.objects.filter(user=users.agent).exists()
    with pytest.raises(Forbidden):
        services.token_create(actor=users.sys_admin, user=users.agent, name="代申请")
    assert not ApiToken.objects.filter(user=users.agent).exists()
    paths = api(None).get("/api/openapi.json").json()["paths"]
    token_paths = {p for p in paths if "token" in p}
    assert token_paths == {"/api/me/tokens", "/api/me/tokens/{token_id}"}


def test_disabled_account_gets_no_token(users):
    services.user_set_active(actor=users.sys_admin, user=users.agent, active=False)
    with pytest.raises(services.Invalid):
        services.token_create(actor=None, user=users.agent, name="停用后")


def test_cli_token_prints_a_working_key(users, api):
    out = io.StringIO()
    call_command("token", users.agent.username, name="对接脚本", stdout=out)
    key = out.getvalue().strip().splitlines()[-1].strip()
    assert key.startswith("hl_")
    response = api(None).get("/api/me", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.json()["username"] == users.agent.username
    assert ApiToken.objects.get(user=users.agent).name == "对接脚本"


def test_cli_token_for_unknown_or_disabled_user_is_refused(users):
    with pytest.raises(CommandError) as refused:
        call_command("token", "nobody", name="x", stdout=io.StringIO())
    assert is_chinese(str(refused.value))
    services.user_set_active(actor=None, user=users.agent, active=False)
    with pytest.raises(CommandError):
        call_command("token", users.agent.username, name="x", stdout=io.StringIO())


# --- OpenAPI ------------------------------------------------------------------------------------


def test_openapi_document_is_served_and_every_operation_has_a_summary(db, api):
    response = api(None).get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not operation.get("summary") or not is_chinese(operation["summary"]):
                missing.append(f"{method.upper()} {path}")
    assert missing == []
    assert "/api/health" in document["paths"]


# --- bad input: 4xx JSON in Chinese, never 500 --------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        '{"name": ',
        "\x00\x01",
        "[1, 2]",
        '"text"',
        '{"name": 5}',
        '{"name": ""}',
        '{"name": "' + "长" * 80 + '"}',
    ],
)
def test_malformed_json_body(users, api, body):
    response = api(users.agent).post("/api/me/tokens", data=body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/json")
    assert is_chinese(response.json()["detail"]), response.json()


@pytest.mark.parametrize(
    "url",
    [
        "/api/org/units/abc",
        "/api/users/1.5",
        "/api/users/-",
        "/api/calendar/notayear",
        "/api/calendar/99999",
        "/api/org/units/99999999999999999999",
        "/api/calendar-deadline?start=garbage",
        "/api/calendar-deadline?start=2025-01-01T00:00&working_days=-1",
        "/api/users?limit=abc",
        "/api/audit?start=yesterday",
    ],
)
def test_bad_parameters(users, api, url):
    response = api(users.audit_admin if "audit" in url else users.sys_admin).get(url)
    assert 400 <= response.status_code < 500, response.content
    assert is_chinese(response.json()["detail"]), response.json()


@pytest.mark.parametrize(
    ("method", "url"), [("put", "/api/me"), ("delete", "/api/health"), ("post", "/api/org/units")]
)
def test_wrong_method_is_405_json_in_chinese(users, api, method, url):
    response = getattr(api(users.agent), method)(url)
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert is_chinese(response.json()["detail"])


def test_unknown_api_path_is_404_json(users, api):
    response = api(users.agent).get("/api/no/such/thing")
    assert response.status_code == 404
    assert is_chinese(response.json()["detail"])
