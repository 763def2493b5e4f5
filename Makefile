# Montage developer commands. `make run` starts the studio; `make test` runs every test.
# Installs are incremental: pip runs when a lock file changes, npm ci when the lockfile does.
# `make run`/`make dev` install the runtime lock (requirements.txt); `make test`/`lint`/`bench`
# the dev lock (requirements-dev.txt: the same pins plus test, lint and benchmark tools).
# Both are compiled by pip-tools from requirements.in / requirements-dev.in: `make lock`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
NPM ?= npm
VENV := .venv
VPY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.requirements.stamp
PY_DEV_STAMP := $(VENV)/.requirements-dev.stamp
PIP_INSTALL = $(VPY) -m pip install --disable-pip-version-check -q --require-hashes
PIP_TOOLS_VERSION := 7.6.2
PIP_TOOLS := $(VENV)/pip-tools
PIP_COMPILE = $(PIP_TOOLS)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	--resolver=backtracking --no-emit-index-url --no-emit-find-links
NODE_STAMP := frontend/node_modules/.package-lock.stamp
FRONTEND_INDEX := frontend/dist/index.html
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.json frontend/package.json

# Extra arguments: `make test ARGS="-k timeline -x"`, `make run PORT=8001`.
ARGS ?=

.PHONY: espeak chromium help run dev test lint bench clean distclean install install-dev python-deps python-deps-dev \
	frontend-deps frontend-build frontend-test lock

help:
	@echo "make run     start Montage at http://127.0.0.1:$${PORT:-8000}/ (SQLite, private Redis, worker, beat)"
	@echo "make dev     the same with DEBUG on (tracebacks in the browser): only on your own machine"
	@echo "make test    frontend tests + the pytest suite (REDIS_URL/DATABASE_URL used when set)"
	@echo "make lint    ruff check + TypeScript typecheck"
	@echo "make bench   run the benchmarks in bench/ (they print figures)"
	@echo "make lock    recompile requirements.txt and requirements-dev.txt from the .in files (pip-tools)"
	@echo "make clean   remove build outputs and install stamps (keeps .venv, var/db.sqlite3, var/media)"

# --- installs ---------------------------------------------------------------------------------

$(VPY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required (python3.11 or python3 on PATH)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The runtime lock: what the studio itself imports (the Docker image installs the same file).
$(PY_STAMP): requirements.txt | $(VPY)
	$(PIP_INSTALL) -r requirements.txt
	@touch $@

# The dev lock holds every runtime pin too, so installing it also satisfies the runtime stamp.
$(PY_DEV_STAMP): requirements-dev.txt requirements.txt | $(VPY)
	$(PIP_INSTALL) -r requirements-dev.txt
	@touch $@ $(PY_STAMP)

$(NODE_STAMP): frontend/package-lock.json frontend/package.json
	@command -v $(NPM) >/dev/null || { echo "Node.js 20.19+ with npm is required to build the browser app." >&2; exit 1; }
	cd frontend && $(NPM) ci --no-audit --no-fund
	@touch $@

$(FRONTEND_INDEX): $(NODE_STAMP) $(FRONTEND_SOURCES)
	cd frontend && $(NPM) run build
	@touch $@

python-deps: $(PY_STAMP)
python-deps-dev: $(PY_DEV_STAMP)
frontend-deps: $(NODE_STAMP)
frontend-build: $(FRONTEND_INDEX)
install: python-deps frontend-build
install-dev: python-deps-dev frontend-build

# Recompile both locks after editing a .in file; pins already in the locks are kept unless asked:
# `make lock LOCK_ARGS="--upgrade-package django"` (or `--upgrade` for everything).
LOCK_ARGS ?=
lock: | $(VPY)
	@test -x $(PIP_TOOLS)/bin/pip-compile || { $(VPY) -m venv $(PIP_TOOLS) \
		&& $(PIP_TOOLS)/bin/pip install --disable-pip-version-check -q pip-tools==$(PIP_TOOLS_VERSION); }
	$(PIP_COMPILE) $(LOCK_ARGS) requirements.in -o requirements.txt
	$(PIP_COMPILE) $(LOCK_ARGS) requirements-dev.in -o requirements-dev.txt

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

test: install-dev espeak chromium frontend-test
	$(VPY) -m studio.testrun $(ARGS)

lint: python-deps-dev frontend-deps
	$(VPY) -m ruff check .
	cd frontend && $(NPM) run typecheck

bench: python-deps-dev
	@shopt -s nullglob; files=(bench/*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "No benchmarks yet (bench/*.py)."; exit 0; fi; \
	for f in "$${files[@]}"; do \
		case "$$(basename $$f)" in __init__.py|_*) continue;; esac; \
		echo "== $$f"; PYTHONPATH=. $(VPY) "$$f" || exit $$?; \
	done

clean:
	rm -rf frontend/dist $(NODE_STAMP) $(PY_STAMP) $(PY_DEV_STAMP) var/static var/redis var/redis-test var/celerybeat-schedule* \
		.pytest_cache .ruff_cache test-artifacts
	find . -path ./$(VENV) -prune -o -path ./frontend/node_modules -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

# Also removes the virtualenv and node_modules (the database and media in var/ stay).
distclean: clean
	rm -rf $(VENV) frontend/node_modules
