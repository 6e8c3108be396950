"""Fixtures of the contact-center tests.

``cc`` is a small contact center on the SY platform (see hotline/conftest.py): a skill
社保 and a general queue, and ``agent(n)`` makes a signed-out agent (role 话务员) with
optional skill level. ``arrive(...)`` brings in a contact through the service; ``T0`` is
a fixed Tuesday 10:00 in Asia/Shanghai, so business hours are deterministic.
"""

import datetime as dt
import zoneinfo
from types import SimpleNamespace

import pytest

from hotline.contact import services
from hotline.contact.models import Queue
from hotline.core.models import Skill, UserSkill

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 3, 4, 10, 0, tzinfo=SHANGHAI)  # a Tuesday


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def cc(org, make_user):
    skill = Skill.objects.create(platform=org.sy, code="shebao", name="社保")
    leader = make_user("team_leader", username="leader_cc", display_name="值班长周健")
    general = services.queue_create(actor=leader, platform=org.sy, code="general", name="综合咨询")
    shebao = services.queue_create(
        actor=leader, platform=org.sy, code="shebao", name="社保咨询", skill=skill
    )
    return SimpleNamespace(
        org=org, platform=org.sy, skill=skill, leader=leader, general=general, shebao=shebao
    )


@pytest.fixture
def agent(cc, make_user):
    """``agent(name, level=None, ready=True, **settings)`` → a signed-in agent."""

    def make(name: str, *, level: int | None = None, ready: bool = True, now=T0, **settings):
        user = make_user("agent", username=f"agent_{name}", display_name=f"话务员{name}")
        if level is not None:
            UserSkill.objects.create(user=user, skill=cc.skill, level=level)
        if settings:
            services.agent_settings_update(actor=user, **settings)
        if ready is not None:
            services.agent_sign_in(actor=user, ready=ready, now=now)
        return user

    return make


@pytest.fixture
def arrive(cc):
    def contact(address: str, *, channel="webchat", queue: Queue | None = None, now=T0, **extra):
        return services.contact_arrive(
            platform=cc.platform,
            channel=channel,
            address=address,
            queue=queue or cc.general,
            now=now,
            **extra,
        )

    return contact
