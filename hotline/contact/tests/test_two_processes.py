"""The distributed shape (R-VOICE-3, the queue survives a web process): two web processes
(`hotline run --no-worker`) on one PostgreSQL and one Redis bus, 500 citizens spread over
both, 80 agents spread over both. Whoever reaches whichever process, every contact is
routed exactly once, no agent holds more than its places, and the citizen and the agent
see each other's messages across the processes (the bus carries them)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from hotline.contact import simulate

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def _release_idle_connections() -> None:
    """Earlier tests' servers ran in threads of this process; their threads' database
    connections linger until collected. Two web processes need their own connections
    within PostgreSQL's limit (100 by default): collect the dead threads' connections and
    close whatever of this database still sits idle."""
    import gc

    gc.collect()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'"
        )


@pytest.fixture
def two_web_processes(org, tmp_path):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("需要 PostgreSQL 与 Redis（设置 DATABASE_URL 与 REDIS_URL）")
    _release_idle_connections()
    env = {**os.environ, "DATABASE_URL": _database_url(), "HOTLINE_TASKS_IMMEDIATE": "1"}
    servers, logs = [], []
    for n in range(2):
        port = simulate._free_port()
        log = open(tmp_path / f"server-{n}.log", "wb")  # noqa: SIM115 - closed below
        logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "hotline.cli", "run", "--port", str(port)]
            + ["--no-worker", "--no-migrate"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        servers.append((f"http://127.0.0.1:{port}", process))
    try:
        for url, _ in servers:
            simulate.wait_until_up(url, 90)
        yield [url for url, _ in servers]
    finally:
        for _, process in servers:
            process.terminate()
        for _, process in servers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
        # what the servers logged (tracebacks of a 500) goes into the test's report
        for path in sorted(tmp_path.glob("server-*.log")):
            errors = [
                line
                for line in path.read_text(errors="replace").splitlines()
                if "Error" in line or "Traceback" in line or "ERROR" in line
            ]
            if errors:
                print(f"--- {path.name}", *errors[-40:], sep="\n")


def test_five_hundred_citizens_over_two_web_processes_each_routed_once(two_web_processes):
    plan = simulate.Plan(
        contacts=500,
        agents=80,
        capacity=5,
        duration=0,  # all at once: the hardest case for claims across processes
        speedup=20,
        rounds=(1, 2),
        platform="SY",
        urls=two_web_processes,
        timeout=600,
        reply_wait=300,
    )
    report = simulate.run(plan)
    assert report["errors"] == 0, report["error_samples"]
    assert report["offered"] == 500
    assert report["lost"] == 0 and report["double_assigned"] == 0
    assert report["over_capacity"] == 0 and report["reassigned"] == 0
    assert report["assigned"] + report["abandoned"] == 500
    assert report["completed"] == report["assigned"]
    # both processes served citizens and agents: the bus, not one process, did the work
    for url in two_web_processes:
        assert report["per_server"][url]["citizens"] > 0
        assert report["per_server"][url]["agents"] > 0
