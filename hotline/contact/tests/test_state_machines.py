"""The agent and session state machines: the tables against themselves (hypothesis on the
pure functions), then random sequences of the real services against the database, with
the invariants checked after every step: no illegal move succeeds, a refused move changes
nothing, and the counters, the queue and the sessions always agree."""

import datetime as dt

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from hotline.contact import acd, lifecycle, services
from hotline.contact.lifecycle import (
    AGENT_MOVES,
    SESSION_MOVES,
    TERMINAL_SESSION_STATES,
    Activity,
    Presence,
    SessionState,
    agent_move,
    is_available,
    session_move,
)
from hotline.contact.models import AgentPresence, AgentStateInterval, QueueEntry, Session
from hotline.core.errors import Conflict, HotlineError

from .conftest import T0

AGENT_EVENTS = sorted(AGENT_MOVES)
SESSION_EVENTS = sorted(SESSION_MOVES)


def test_tables_declare_themselves():
    lifecycle.check_declarations()
    # every session state is reachable from NEW
    reached, frontier = {SessionState.NEW}, [SessionState.NEW]
    while frontier:
        state = frontier.pop()
        for move in SESSION_MOVES.values():
            for frm, to in move.edges:
                if frm == state and to not in reached:
                    reached.add(to)
                    frontier.append(to)
    assert reached == set(SessionState)
    assert lifecycle.agent_state_label("not_ready", "idle", "break") == "小休"
    assert lifecycle.agent_state_label("ready", "wrap_up") == "整理"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(AGENT_EVENTS), max_size=40))
def test_no_illegal_agent_move_succeeds(events):
    presence, activity = Presence.SIGNED_OUT, Activity.IDLE
    for event in events:
        move = AGENT_MOVES[event]
        allowed = (move.presence is None or presence in move.presence) and (
            move.activity is None or activity in move.activity
        )
        try:
            presence, activity = agent_move(presence, activity, event)
        except Conflict:
            assert not allowed
            continue
        assert allowed, (presence, activity, event)
        # the invariants of the three layers
        if presence == Presence.SIGNED_OUT:
            assert activity == Activity.IDLE
        if event in ("offer", "offer_more", "assign"):
            assert presence == Presence.READY
    # work is offered only to an available agent
    for p in Presence:
        for a in Activity:
            for event in ("offer", "offer_more", "assign"):
                try:
                    agent_move(p, a, event)
                except Conflict:
                    continue
                assert is_available(p, a)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SESSION_EVENTS), max_size=30))
def test_no_illegal_session_move_succeeds(events):
    state, answered = SessionState.NEW, False
    for event in events:
        edges = SESSION_MOVES[event].edges
        try:
            target = session_move(state, event)
        except Conflict as refused:
            assert state not in SESSION_MOVES[event].sources
            assert "不能" in refused.message
            continue
        assert (state, target) in edges
        assert state not in TERMINAL_SESSION_STATES  # nothing leaves a terminal state
        if target == SessionState.ACTIVE:
            answered = True
        if target == SessionState.WRAP_UP:
            assert answered  # only an answered session is wrapped up
        state = target


class ServicesMachine(RuleBasedStateMachine):
    """Two agents (one voice-capable text agent with capacity 2, one manual-accept agent)
    and contacts of both kinds, driven through the services and the sweep."""

    cc = None
    agents = None

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.now = T0
        self.count = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def tick(self, seconds=7):
        self.now += dt.timedelta(seconds=seconds)
        return self.now

    def attempt(self, call, watched=None):
        """Run a service; a refusal must leave the watched rows as they were."""
        before = self.snapshot()
        try:
            call()
        except HotlineError:
            assert self.snapshot() == before

    def snapshot(self):
        return (
            list(
                AgentPresence.objects.order_by("pk").values_list(
                    "presence", "reason", "activity", "active_voice", "active_text"
                )
            ),
            list(Session.objects.order_by("pk").values_list("state", "agent_id")),
            QueueEntry.objects.count(),
        )

    @rule(voice=st.booleans())
    def arrive(self, voice):
        self.count += 1
        services.contact_arrive(
            platform=self.cc.platform,
            channel="voice" if voice else "webchat",
            address=f"c{self.count}",
            queue=self.cc.general,
            now=self.tick(),
        )

    @rule(i=st.integers(0, 1), event=st.sampled_from(["sign_in", "ready", "not_ready", "sign_out"]))
    def agent_choice(self, i, event):
        user, now = self.agents[i], self.tick()
        call = {
            "sign_in": lambda: services.agent_sign_in(actor=user, now=now),
            "ready": lambda: services.agent_ready(actor=user, now=now),
            "not_ready": lambda: services.agent_not_ready(actor=user, reason="break", now=now),
            "sign_out": lambda: services.agent_sign_out(actor=user, now=now),
        }[event]
        self.attempt(call)

    @rule(
        data=st.data(), verb=st.sampled_from(["accept", "end", "close", "abandon", "citizen_end"])
    )
    def session_verb(self, data, verb):
        sessions = list(Session.objects.order_by("pk"))
        if not sessions:
            return
        session = data.draw(st.sampled_from(sessions))
        user = self.agents[0] if session.agent_id == self.agents[0].pk else self.agents[1]
        now = self.tick()
        call = {
            "accept": lambda: services.session_accept(actor=user, session=session, now=now),
            "end": lambda: services.session_end(actor=user, session=session, now=now),
            "citizen_end": lambda: services.session_end(actor=None, session=session, now=now),
            "close": lambda: services.session_close(
                actor=user, session=session, summary="已答复", now=now
            ),
            "abandon": lambda: services.contact_abandon(session=session, now=now),
        }[verb]
        self.attempt(call)

    @rule(seconds=st.sampled_from([5, 30, 90]))
    def sweep(self, seconds):
        acd.sweep(now=self.tick(seconds))

    @invariant()
    def counters_agree_with_sessions(self):
        for p in AgentPresence.objects.all():
            live = Session.objects.filter(agent_id=p.agent_id, state__in=["offered", "active"])
            voice = live.filter(channel="voice").count()
            text = live.exclude(channel="voice").count()
            assert (p.active_voice, p.active_text) == (voice, text), (p, voice, text)
            assert voice <= 1 and not (voice and text)  # a call is exclusive
            assert text <= p.text_capacity
            if p.presence == Presence.SIGNED_OUT:
                assert p.activity == Activity.IDLE and not voice and not text
            if live.filter(state="active").exists():
                assert p.activity == Activity.IN_SESSION
            intervals = AgentStateInterval.objects.filter(agent_id=p.agent_id)
            if intervals.exists():  # once signed in, exactly one interval is open
                assert intervals.filter(ended_at__isnull=True).count() == 1

    @invariant()
    def queue_agrees_with_sessions(self):
        for s in Session.objects.all():
            entry = QueueEntry.objects.filter(session=s).first()
            if s.state == SessionState.QUEUED:
                assert entry is not None and entry.claimed_by_id is None and s.agent_id is None
            elif s.state == SessionState.OFFERED:
                assert entry is not None and entry.claimed_by_id == s.agent_id
            else:
                assert entry is None
            assert s.legs.filter(ended_at__isnull=True).count() <= 1


def test_random_service_sequences(cc, agent):
    ServicesMachine.cc = cc
    ServicesMachine.agents = [
        agent("甲", ready=None, text_capacity=2, wrap_up_seconds=20),
        agent("乙", ready=None, auto_accept=False, wrap_up_enabled=False),
    ]
    run_state_machine_as_test(
        ServicesMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
