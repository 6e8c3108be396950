"""渠道接入 pages: a supervisor with the configure right opens a door of a channel with the
parameters its connector declares, sees the address to give the channel's service, and
changes it later without ever seeing a secret again."""

import pytest

from hotline.contact import connectors
from hotline.contact.connectors.base import Connector, SettingField
from hotline.contact.models import ChannelEntry
from hotline.core.models import AuditEntry


class GatewayWithSecrets(Connector):
    channel = "weibo"
    label = "微博"
    setting_fields = (
        SettingField("app_key", "App Key", required=True),
        SettingField("app_secret", "App Secret", required=True, secret=True),
    )
    webhook_actions = {"": "消息推送地址"}


@pytest.fixture
def secretive(monkeypatch):
    monkeypatch.setitem(connectors.REGISTRY, "weibo", GatewayWithSecrets())


def test_a_channel_entry_is_opened_and_changed_without_its_secret_ever_shown(cc, client, secretive):
    client.force_login(cc.leader)
    page = client.get("/floor/channels/new/?channel=weibo")
    assert page.status_code == 200
    assert "App Secret" in page.content.decode()

    # a required secret missing: told on the form, nothing stored
    form = {"channel": "weibo", "code": "wb", "name": "市政府微博", "queue": cc.general.pk}
    refused = client.post("/floor/channels/new/", {**form, "setting_app_key": "k1"})
    assert refused.status_code == 200 and "这个字段是必填项" in refused.content.decode()
    assert not ChannelEntry.objects.exists()

    made = client.post(
        "/floor/channels/new/",
        {**form, "is_active": "on", "setting_app_key": "k1", "setting_app_secret": "s3cret"},
    )
    assert made.status_code == 302, made.content.decode()
    entry = ChannelEntry.objects.get(code="wb")
    assert entry.settings == {"app_key": "k1", "app_secret": "s3cret"}

    listing = client.get("/floor/channels/").content.decode()
    assert "市政府微博" in listing
    assert f"http://testserver/channels/{cc.platform.code}/wb/" in listing

    edit = client.get(f"/floor/channels/{entry.pk}/").content.decode()
    assert "s3cret" not in edit and "已设置；留空则保持不变" in edit
    saved = client.post(
        f"/floor/channels/{entry.pk}/",
        {
            "name": "市政府官方微博",
            "queue": cc.general.pk,
            "welcome": "您好",
            "setting_app_key": "k2",
            "setting_app_secret": "",
        },
    )
    assert saved.status_code == 302
    entry.refresh_from_db()
    assert (entry.name, entry.is_active) == ("市政府官方微博", False)  # unticked: switched off
    assert entry.settings == {"app_key": "k2", "app_secret": "s3cret"}  # blank kept it
    # the audit log has the change, the secret blotted out
    logged = AuditEntry.objects.filter(action__startswith="contact.entry").order_by("pk")
    assert [a.action for a in logged] == ["contact.entry.create", "contact.entry.update"]
    assert "s3cret" not in str([(a.changes, a.detail) for a in logged])
    assert logged[1].changes["settings"][1]["app_key"] == "k2"
    # a switched-off door refuses its service's calls
    assert client.post(f"/channels/{cc.platform.code}/wb/").status_code == 404


def test_an_agent_cannot_open_channel_entries(cc, agent, client):
    client.force_login(agent("甲"))
    assert client.get("/floor/channels/").status_code == 403
