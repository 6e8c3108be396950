"""The load simulator (``hotline simulate``) end to end, against the ASGI server (uvicorn,
as ``hotline run`` serves it): simulated agents sign in through the login page and keep
their workbench sockets open, simulated citizens chat over the web-chat socket; then the
database accounts for every contact — nothing lost, nobody assigned twice."""

import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hotline.contact.models import (
    AgentPresence,
    ContactFact,
    FactKind,
    Queue,
    Session,
    SessionLeg,
)

pytestmark = pytest.mark.django_db(transaction=True)


def simulate(capsys, *args) -> dict:
    call_command("simulate", "--platform", "SY", *args)
    return json.loads(capsys.readouterr().out)


def test_thirty_citizens_four_agents_nothing_lost_nobody_assigned_twice(org, live_server, capsys):
    report = simulate(
        capsys,
        "--contacts=30",
        "--agents=4",
        "--capacity=3",
        "--duration=4",
        "--abandon-after=1.5",
        "--speedup=30",
        f"--url={live_server.url}",
    )
    assert report["errors"] == 0, report["error_samples"]
    assert report["offered"] == 30
    assert report["lost"] == 0 and report["double_assigned"] == 0
    assert report["over_capacity"] == 0 and report["reassigned"] == 0
    assert report["assigned"] + report["abandoned"] == report["offered"]
    assert report["completed"] == report["assigned"]  # every chat closed with a summary
    # the latencies were measured on the sockets: citizen → desk and agent → citizen
    latency = report["latency_ms"]
    assert latency["citizen_to_desk"]["n"] > 0 and latency["agent_to_citizen"]["n"] > 0
    assert latency["assignment"]["n"] > 0

    # the database says the same, counted here on its own
    sessions = Session.objects.filter(queue=Queue.objects.get(code="sim"))
    assert sessions.count() == 30
    states = Counter(sessions.values_list("state", flat=True))
    assert set(states) <= {"closed", "abandoned"}, states
    assert states["closed"] == report["assigned"] and states["abandoned"] == report["abandoned"]
    for session in sessions.filter(state="closed"):
        legs = list(SessionLeg.objects.filter(session=session))
        assert len(legs) == 1 and legs[0].ended_at is not None
        assert session.summary.startswith("来电人咨询")
        assert session.messages.filter(direction="in").exists()
        if session.satisfaction:  # a whole conversation (not one given up as the agent came)
            assert session.messages.filter(direction="out", sender__isnull=False).exists()
        kinds = Counter(
            ContactFact.objects.filter(session_id=session.pk).values_list("kind", flat=True)
        )
        assert kinds[FactKind.ASSIGNED] == 1 and kinds[FactKind.CLOSED] == 1
    assert not sessions.filter(state="abandoned", legs__isnull=False).exists()
    # the agents signed out at the end with nothing held
    agents = AgentPresence.objects.filter(agent__username__startswith="sim_agent_")
    assert agents.count() == 4
    assert set(agents.values_list("presence", "active_text", "active_voice")) == {
        ("signed_out", 0, 0)
    }


def test_citizens_who_wait_too_long_give_up_and_are_counted_as_abandoned(org, live_server, capsys):
    """One agent with one place and five citizens at once: the agent talks to one, the
    others give up after about a second of waiting — abandoned, not lost."""
    report = simulate(
        capsys,
        "--contacts=5",
        "--agents=1",
        "--capacity=1",
        "--duration=0",
        "--abandon-after=1",
        "--speedup=10",
        "--messages=3",
        f"--url={live_server.url}",
    )
    assert report["errors"] == 0, report["error_samples"]
    assert report["lost"] == 0 and report["double_assigned"] == 0
    assert report["assigned"] >= 1 and report["abandoned"] >= 3
    assert report["assigned"] + report["abandoned"] == 5
    abandoned = Session.objects.filter(queue__code="sim", state="abandoned")
    assert abandoned.count() == report["abandoned"]
    assert (
        ContactFact.objects.filter(
            kind=FactKind.ABANDONED, session_id__in=abandoned.values("pk")
        ).count()
        == report["abandoned"]
    )


def test_a_run_reuses_its_agents_and_ends_what_an_interrupted_run_left(org, live_server, capsys):
    first = simulate(
        capsys,
        "--contacts=4",
        "--agents=2",
        "--duration=1",
        "--speedup=40",
        f"--url={live_server.url}",
    )
    assert first["lost"] == 0 and first["cleaned_up_before"] == 0
    # an interrupted run: a contact still waits in the simulator's queue
    from hotline.contact import services
    from hotline.contact.models import ChannelEntry

    entry = ChannelEntry.objects.get(code="sim-web")
    waiting = services.contact_arrive(
        platform=entry.platform, channel="webchat", address="left-over", queue=entry.queue
    )
    assert waiting.state == "queued"
    second = simulate(
        capsys,
        "--contacts=4",
        "--agents=2",
        "--duration=1",
        "--speedup=40",
        f"--url={live_server.url}",
    )
    assert second["cleaned_up_before"] == 1 and second["lost"] == 0
    waiting.refresh_from_db()
    assert waiting.state == "abandoned"
    assert AgentPresence.objects.filter(agent__username__startswith="sim_agent_").count() == 2


def test_only_web_chat_can_be_simulated(org):
    with pytest.raises(CommandError, match="只支持网页在线"):
        call_command("simulate", "--channel", "voice")
    with pytest.raises(CommandError, match="消息数"):
        call_command("simulate", "--messages", "两条")
