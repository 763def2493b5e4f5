# Montage developer commands. `make run` starts the studio; `make test` runs every test.
# Installs are incremental: pip runs when requirements.txt changes, npm ci when the lockfile does.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
NPM ?= npm
VENV := .venv
VPY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.requirements.stamp
NODE_STAMP := frontend/node_modules/.package-lock.stamp
FRONTEND_INDEX := frontend/dist/index.html
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.json frontend/package.json

# Extra arguments: `make test ARGS="-k timeline -x"`, `make run PORT=8001`.
ARGS ?=

.PHONY: espeak chromium help run dev test lint bench clean distclean install python-deps frontend-deps frontend-build frontend-test

help:
	@echo "make run     start Montage at http://127.0.0.1:$${PORT:-8000}/ (SQLite, private Redis, worker, beat)"
	@echo "make dev     the same with DEBUG on (tracebacks in the browser): only on your own machine"
	@echo "make test    frontend tests + the pytest suite (REDIS_URL/DATABASE_URL used when set)"
	@echo "make lint    ruff check + TypeScript typecheck"
	@echo "make bench   run the benchmarks in bench/ (they print figures)"
	@echo "make clean   remove build outputs and install stamps (keeps .venv, var/db.sqlite3, var/media)"

# --- installs ---------------------------------------------------------------------------------

$(VPY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required (python3.11 or python3 on PATH)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): requirements.txt | $(VPY)
	$(VPY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $@

$(NODE_STAMP): frontend/package-lock.json frontend/package.json
	@command -v $(NPM) >/dev/null || { echo "Node.js 20.19+ with npm is required to build the browser app." >&2; exit 1; }
	cd frontend && $(NPM) ci --no-audit --no-fund
	@touch $@

$(FRONTEND_INDEX): $(NODE_STAMP) $(FRONTEND_SOURCES)
	cd frontend && $(NPM) run build
	@touch $@

python-deps: $(PY_STAMP)
frontend-deps: $(NODE_STAMP)
frontend-build: $(FRONTEND_INDEX)
install: python-deps frontend-build

# --- commands ---------------------------------------------------------------------------------

# espeak-ng gives the built-in narration backend a voice. Installed only when we can
# (root with apt-get); without it that one backend reports itself as not available.
espeak:
	@command -v espeak-ng >/dev/null 2>&1 || command -v espeak >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing espeak-ng (narration)…"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng) >/dev/null 2>&1 \
				|| echo "Could not install espeak-ng; the local-speech backend will be unavailable."; \
		else echo "espeak-ng not installed (needs root with apt); the local-speech backend will be unavailable."; fi; }

# Debian's Chromium drives the browser end-to-end tests (tests/e2e); installed only when we
# can (root with apt-get). Without it those tests are skipped.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing chromium (browser tests)…"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
				|| echo "Could not install chromium; the browser end-to-end tests will be skipped."; \
		else echo "chromium not installed (needs root with apt); the browser end-to-end tests will be skipped."; fi; }

# Never a debug server, whatever DEBUG the shell or .env holds (`make dev` is).
run: install espeak
	DEBUG=0 $(VPY) manage.py montage_run $(ARGS)

# `make run` with Django's debug pages (tracebacks, settings): never for a server others reach.
dev: install espeak
	DEBUG=1 $(VPY) manage.py montage_run $(ARGS)

frontend-test: $(NODE_STAMP)
	cd frontend && $(NPM) test

test: install espeak chromium frontend-test
	$(VPY) -m studio.testrun $(ARGS)

lint: python-deps frontend-deps
	$(VPY) -m ruff check .
	cd frontend && $(NPM) run typecheck

bench: python-deps
	@shopt -s nullglob; files=(bench/*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "No benchmarks yet (bench/*.py)."; exit 0; fi; \
	for f in "$${files[@]}"; do \
		case "$$(basename $$f)" in __init__.py|_*) continue;; esac; \
		echo "== $$f"; PYTHONPATH=. $(VPY) "$$f" || exit $$?; \
	done

clean:
	rm -rf frontend/dist $(NODE_STAMP) $(PY_STAMP) var/static var/redis var/redis-test var/celerybeat-schedule* \
		.pytest_cache .ruff_cache test-artifacts
	find . -path ./$(VENV) -prune -o -path ./frontend/node_modules -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

# Also removes the virtualenv and node_modules (the database and media in var/ stay).
distclean: clean
	rm -rf $(VENV) frontend/node_modules
