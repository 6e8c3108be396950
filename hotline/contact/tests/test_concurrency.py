"""Routing under contention on PostgreSQL: 8 threads route at the same moment over 200
waiting contacts (voice and web chat) and 40 agents. Every contact is assigned at most
once, no voice agent holds two calls or a call and a chat, and the agents' counters agree
with the sessions."""

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from hotline.contact import acd
from hotline.contact.models import AgentPresence, QueueEntry, Session, SessionLeg

from .conftest import at

THREADS = 8


def _together(jobs):
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except BaseException as error:  # reported by the main thread
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.postgres
def test_two_hundred_contacts_forty_agents_eight_routers(transactional_db, cc, agent, arrive):
    if connection.vendor != "postgresql":
        pytest.skip("需要 PostgreSQL（设置 DATABASE_URL）")
    agents = [agent(f"{i:02d}", ready=False, text_capacity=3, now=at(0)) for i in range(40)]
    contacts = [
        arrive(f"c{i}", channel="voice" if i % 2 else "webchat", now=at(1 + i * 0.01))
        for i in range(200)
    ]
    assert QueueEntry.objects.count() == 200
    # every agent 示闲 without routing (as if the events were lost): the routers race
    with transaction.atomic():
        for p in AgentPresence.objects.select_for_update().order_by("pk"):
            acd.set_agent(p, "ready", at(2))
    now = at(3)
    jobs = [lambda: acd.route(cc.general, now=now) for _ in range(THREADS // 2)]
    jobs += [
        (lambda user=user: acd.agent_freed(user.pk, now=now))
        for user in agents[: THREADS - len(jobs)]
    ]
    results = _together(jobs)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    assigned = [s.pk for r in results for s in r]
    assert len(assigned) == len(set(assigned))  # no contact assigned twice

    legs = Counter(SessionLeg.objects.values_list("session_id", flat=True))
    assert all(n == 1 for n in legs.values())
    for p in AgentPresence.objects.all():
        live = Session.objects.filter(agent_id=p.agent_id, state__in=["offered", "active"])
        voice = live.filter(channel="voice").count()
        text = live.exclude(channel="voice").count()
        assert voice <= 1 and not (voice and text), (p.agent_id, voice, text)
        assert (p.active_voice, p.active_text) == (voice, text)
        assert text <= 3
    # nothing that could be assigned was left behind once the routers settle
    acd.sweep(now=at(4))
    busy = AgentPresence.objects.filter(active_voice=0, active_text=0).count()
    waiting = QueueEntry.objects.filter(claimed_by__isnull=True).count()
    assert busy == 0 or waiting == 0
    total = Session.objects.filter(pk__in=[c.pk for c in contacts], agent__isnull=False).count()
    assert total == len(set(legs))
    print(f"\nassigned by the racing routers: {len(assigned)}, in all: {total}")
