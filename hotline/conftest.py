"""Fixtures shared by every test of the project.

The organisation used throughout::

    HN  海南省 (province)           sys_admin, sec_admin, audit_admin
    └── SY  三亚市 (city)           agent, dispatcher; units sy_units[0..2]
        └── YZ  崖州区 (county)     yz_agent; unit yz_unit

Users are made with the services (``actor=None``: the system), like the CLI would, so a
fixture account is exactly what a real installation holds. ``make_user`` makes more;
``api(user)`` gives a test client that speaks to the REST API with the user's token.
"""

import itertools
import os
import pathlib
from types import SimpleNamespace

import pytest
from channels.layers import channel_layers
from django.test import Client

from hotline.contact.acd import routing_settings
from hotline.core import audit, immutability, services, workdays
from hotline.core.models import (
    CalendarDay,
    HandlingUnit,
    Platform,
    RolePermission,
    SecurityPolicy,
)
from hotline.core.roles import ADMIN_ROLES
from hotline.knowledge.services import synonyms
from hotline.web.chromium import CHROMIUM, launch_options

#: The password of every fixture account: meets the default policy (3 of 4 classes, ≥ 8).
PASSWORD = "Rexu#2025pw"


# --- the test harness itself ---------------------------------------------------------------


@pytest.fixture(autouse=True, scope="session")
def _allow_test_database_purge():
    """Let Django empty the test database between transactional tests.

    The audit table refuses UPDATE and DELETE through database triggers
    (hotline/core/immutability.py). Django's flush after a ``transactional_db`` or
    ``live_server`` test deletes every row; on PostgreSQL it uses TRUNCATE, which row
    triggers do not see, but on SQLite it issues DELETE, and the trigger lets that through
    only while ``PURGE_ALLOWED`` is on. The application never switches it on; the test
    harness does, for the whole session. The immutability test switches it off again for
    its own duration (see ``audit_purge_forbidden``)."""
    immutability.PURGE_ALLOWED["value"] = True
    yield
    immutability.PURGE_ALLOWED["value"] = False


@pytest.fixture
def audit_purge_forbidden():
    """The production setting: the audit table refuses DELETE, even on SQLite."""
    immutability.PURGE_ALLOWED["value"] = False
    yield
    immutability.PURGE_ALLOWED["value"] = True


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Per-process caches and context that must not leak from one test to the next."""
    workdays.forget()
    SecurityPolicy.forget()
    synonyms.forget()
    routing_settings.clear()
    token = audit.set_origin(audit.Origin())
    yield
    audit.reset_origin(token)
    workdays.forget()
    SecurityPolicy.forget()
    synonyms.forget()
    # a fresh channel layer per test: each test drives its sockets on an event loop of
    # its own, and the Redis layer refuses to receive on a second loop while a socket
    # left open by an earlier test still counts as receiving on the first
    channel_layers.backends.clear()


def _ensure_seed() -> None:
    """The rows the migrations seed (default grants, security policy, shipped calendar,
    the request category tree and the SLA table).

    A transactional test's flush removes them; re-create what is missing so that every
    test starts from an installation as ``migrate`` leaves it."""
    if not RolePermission.objects.exists():
        services.role_permissions_seed()
    if not SecurityPolicy.objects.exists():
        SecurityPolicy.objects.create()
    if not CalendarDay.objects.exists():
        CalendarDay.objects.bulk_create(CalendarDay(**row) for row in workdays.shipped_days())
        workdays.forget()
    from hotline.workorders.models import Category

    if not Category.objects.exists():  # the shipped category tree and SLA table
        import importlib

        from django.apps import apps

        importlib.import_module("hotline.workorders.migrations.0002_defaults").seed(apps, None)


@pytest.fixture
def seeded(db):
    """An installation as ``migrate`` leaves it (default grants, policy, calendar)."""
    _ensure_seed()


# --- organisation -----------------------------------------------------------------------------


@pytest.fixture
def org(seeded):
    """Platforms HN → SY → YZ, three handling units under SY and one under YZ."""
    hn = Platform.objects.create(code="HN", name="海南省12345热线", level=Platform.Level.PROVINCE)
    sy = Platform.objects.create(
        code="SY", name="三亚市12345热线", level=Platform.Level.CITY, parent=hn
    )
    yz = Platform.objects.create(
        code="YZ", name="崖州区12345热线", level=Platform.Level.COUNTY, parent=sy
    )
    sy_units = [
        HandlingUnit.objects.create(
            platform=sy, code="SYRS", name="三亚市人力资源和社会保障局", short_name="市人社局"
        ),
        HandlingUnit.objects.create(
            platform=sy, code="SYZJ", name="三亚市住房和城乡建设局", short_name="市住建局"
        ),
        HandlingUnit.objects.create(
            platform=sy, code="SYSW", name="三亚市水务局", short_name="市水务局"
        ),
    ]
    yz_unit = HandlingUnit.objects.create(
        platform=yz,
        code="YZZF",
        name="崖州区人民政府",
        short_name="崖州区政府",
        kind=HandlingUnit.Kind.DISTRICT,
    )
    return SimpleNamespace(hn=hn, sy=sy, yz=yz, sy_units=sy_units, yz_unit=yz_unit)


@pytest.fixture
def password():
    """The password of every account made by ``make_user`` (unless told otherwise)."""
    return PASSWORD


_usernames = itertools.count(1)


@pytest.fixture
def make_user(org):
    """``make_user(role, platform=..., unit=..., **fields)`` → an active user holding
    ``role`` (or no role for ``role=None``), password ``PASSWORD``, no forced change.

    The platform defaults to the unit's platform, else HN for the admin roles, else SY."""

    def make(
        role: str | None = None,
        *,
        platform=None,
        unit=None,
        username=None,
        display_name=None,
        password=PASSWORD,
        must_change_password=False,
        **fields,
    ):
        if platform is None:
            platform = (
                unit.platform if unit is not None else (org.hn if role in ADMIN_ROLES else org.sy)
            )
        username = username or f"{role or 'user'}{next(_usernames)}"
        user, _ = services.user_create(
            actor=None,
            username=username,
            display_name=display_name or f"测试{username}",
            platform=platform,
            unit=unit,
            password=password,
            must_change_password=must_change_password,
            **fields,
        )
        if role:
            services.role_assign(actor=None, user=user, role=role)
        user.forget_cached_rights()
        return user

    return make


@pytest.fixture
def users(org, make_user):
    """One account per job: the three admins on HN, agent and dispatcher on SY, handlers
    of two different SY units, an agent on YZ."""
    return SimpleNamespace(
        sys_admin=make_user("sys_admin", username="sysadmin", display_name="系统管理员甲"),
        sec_admin=make_user("sec_admin", username="secadmin", display_name="安全管理员乙"),
        audit_admin=make_user("audit_admin", username="auditadmin", display_name="审计管理员丙"),
        agent=make_user(
            "agent", username="agent_sy", display_name="话务员张敏", phone="13812345678"
        ),
        dispatcher=make_user("dispatcher", username="dispatcher_sy", display_name="派单员李强"),
        handler=make_user(
            "unit_handler", unit=org.sy_units[0], username="handler_rs", display_name="人社局王芳"
        ),
        other_handler=make_user(
            "unit_handler", unit=org.sy_units[1], username="handler_zj", display_name="住建局赵磊"
        ),
        yz_agent=make_user(
            "agent", platform=org.yz, username="agent_yz", display_name="崖州话务员陈静"
        ),
    )


# --- clients --------------------------------------------------------------------------------------


@pytest.fixture
def api(db):
    """``api(user)`` → a test client whose every request carries ``Authorization: Bearer``
    with a fresh token of ``user``; ``api(None)`` → a client with no credentials."""
    clients = {}

    def client_for(user, **extra):
        if user is None:
            return Client(**extra)
        if user.pk not in clients:
            _, key = services.token_create(actor=None, user=user, name="测试")
            clients[user.pk] = Client(headers={"Authorization": f"Bearer {key}"}, **extra)
            clients[user.pk].token_key = key
        return clients[user.pk]

    return client_for


@pytest.fixture
def login(db):
    """``login(user, password=PASSWORD, client=None)`` → a client signed in through the
    real login page (lockout, audit and session timestamps included)."""

    def sign_in(user, password=PASSWORD, client=None):
        client = client or Client()
        response = client.post("/login/", {"username": user.username, "password": password})
        assert response.status_code == 302, response.content.decode()[:500]
        return client

    return sign_in


# --- headless chromium for the browser tests ---------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """One chromium per test module. Playwright's sync API keeps an event loop running in
    this thread for as long as it lives, so Django's async-safety check is relaxed for the
    same span: the tests' own ORM calls are plain synchronous ones (the live server
    answers from its own thread)."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):  # .ci/run installs it; its absence there is a failure
            pytest.fail("chromium is not installed (apt-get install chromium fonts-noto-cjk)")
        pytest.skip("chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(**launch_options())
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def screenshot_dir(tmp_path):
    """Where browser tests put their screenshots: a temporary folder, or the folder named
    by HOTLINE_SCREENSHOTS (e.g. docs/screenshots) when refreshing the docs' pictures."""
    target = os.environ.get("HOTLINE_SCREENSHOTS")
    path = pathlib.Path(target) if target else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


class AsgiLiveServer:
    """What pytest-django's ``live_server`` offers (``url``, settings switched on per test),
    but serving the ASGI application with uvicorn in a thread, as ``hotline run`` does, so
    that pages in the browser get their WebSockets (live notifications) too."""

    def __init__(self):
        import socket
        import threading
        import time

        import uvicorn
        from django.test.utils import modify_settings

        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        self.url = f"http://localhost:{port}"
        self._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": "localhost"})
        config = uvicorn.Config(
            "hotline.asgi:application", lifespan="off", log_level="warning", ws="auto"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._listener]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._listener.close()

    def __str__(self):
        return self.url


@pytest.fixture(scope="session")
def live_server(django_db_setup, django_db_blocker):
    """pytest-django's fixture of the same name, replaced by the ASGI server above."""
    with django_db_blocker.unblock():
        server = AsgiLiveServer()
    yield server
    server.stop()
