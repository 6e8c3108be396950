# 12345 热线平台 — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# The test suite's own settings: fast password hashing, tasks run inline, its own var dir.
TEST_ENV := HOTLINE_VAR_DIR=$(CURDIR)/var/test HOTLINE_FAST_PASSWORD_HASHER=1 HOTLINE_TASKS_IMMEDIATE=1

.PHONY: run test test-fast test-load bench lint format screenshots install install-test clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make run — install, migrate, load the demo hotline (first time), serve http://127.0.0.1:$(PORT)
run: install
	$(BIN)/hotline init --demo --if-empty --calls 10000 --orders 3000
	$(BIN)/hotline run --port $(PORT) $(if $(VOICE),--voice $(VOICE))

## make test — install test dependencies and run every test (SQLite, or DATABASE_URL)
test: install-test
	$(TEST_ENV) $(BIN)/pytest -q -p no:cacheprovider

## make test-load — only the two-web-process load test (PostgreSQL + Redis: set DATABASE_URL, REDIS_URL)
test-load: install-test
	$(TEST_ENV) $(BIN)/pytest -q -p no:cacheprovider hotline/contact/tests/test_two_processes.py

## make test-fast — everything but the browser tests
test-fast: install-test
	$(TEST_ENV) $(BIN)/pytest -q -p no:cacheprovider -m "not browser"

## make bench — measure speed targets, write docs/benchmarks.md (with DATABASE_URL set to
## PostgreSQL also issue 3's targets at 1,000,000 orders, in its own database hotline_bench1m;
## the contact center's: routing decisions and a compressed hour of web chat, BENCH_CONTACT_*;
## voice: bridged and recorded calls through a `hotline medianode` process, BENCH_VOICE_*)
bench: install-test
	HOTLINE_VAR_DIR=$(CURDIR)/var/bench $(BIN)/python scripts/bench.py
	@case "$$DATABASE_URL" in \
	  postgres://*|postgresql://*) HOTLINE_VAR_DIR=$(CURDIR)/var/bench $(BIN)/python scripts/bench_orders.py ;; \
	  *) echo "（未设置 PostgreSQL 的 DATABASE_URL：跳过 100 万工单基准 scripts/bench_orders.py）" ;; \
	esac
	HOTLINE_VAR_DIR=$(CURDIR)/var/bench/kb $(BIN)/python scripts/bench_kb.py
	HOTLINE_VAR_DIR=$(CURDIR)/var/bench/contact $(BIN)/python scripts/bench_contact.py
	HOTLINE_VAR_DIR=$(CURDIR)/var/bench/voice $(BIN)/python scripts/bench_voice.py

## make screenshots — pages of every demo role, into docs/screenshots/
screenshots: install-test
	HOTLINE_VAR_DIR=$(CURDIR)/var/shots $(BIN)/python scripts/screenshots.py

lint: install-test
	$(BIN)/ruff check hotline scripts
	$(BIN)/ruff format --check hotline scripts

format: install-test
	$(BIN)/ruff format hotline scripts
	$(BIN)/ruff check --fix hotline scripts

clean:
	rm -rf var/test var/bench var/shots .pytest_cache

## make docs — regenerate the reference docs that are derived from declarations
docs: install
	DJANGO_SETTINGS_MODULE=hotline.settings HOTLINE_VAR_DIR=$(CURDIR)/var $(BIN)/python -c "import django; django.setup(); from hotline.core import reference; print(*reference.write_all(), sep='\n')"
