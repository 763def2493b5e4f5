"""A tiny threaded HTTP server for provider fakes.

Each fake subclasses ``FakeProvider``, registers routes with ``@route(method, pattern)``
and speaks the provider's documented contract. Tests steer it through ``scenario`` (a
dict the handlers read: "rate_limit_once", "quota", "fail_after_running", ...) and
inspect ``calls`` (every request seen) afterwards.

    with FakeRunway() as fake:
        fake.scenario["rate_limit_once"] = True
        ...  # point the adapter at fake.url
        assert fake.count("POST", "/v1/image_to_video") == 1
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; bytes → raw
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def vars_of_class(cls: type) -> dict[str, Any]:
    """Class attributes including inherited ones (subclass wins)."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        out.update(vars(klass))
    return out


def route(method: str, pattern: str) -> Callable:
    """Mark a handler: ``pattern`` is a regex on the path; named groups become kwargs."""

    def mark(fn):
        fn._route = (method.upper(), re.compile("^" + pattern + "$"))
        return fn

    return mark


class FakeProvider:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.scenario: dict[str, Any] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self._routes = []
        # Look handlers up on the class: reading instance attributes here would evaluate
        # properties such as ``url`` before the server exists.
        for name, attr in vars_of_class(type(self)).items():
            if callable(attr) and hasattr(attr, "_route"):
                self._routes.append((*attr._route, getattr(self, name)))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeProvider:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                parsed = urlparse(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                call = Call(self.command, parsed.path, parse_qs(parsed.query), {k.lower(): v for k, v in self.headers.items()}, body)
                with fake.lock:
                    fake.calls.append(call)
                reply = fake.dispatch(call)
                payload = reply.body
                if isinstance(payload, (dict, list)) or (payload is None and reply.content_type == "application/json"):
                    data = json.dumps(payload if payload is not None else {}).encode()
                elif isinstance(payload, str):
                    data = payload.encode()
                else:
                    data = payload or b""
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- dispatch ------------------------------------------------------------------------
    def dispatch(self, call: Call) -> Reply:
        for method, pattern, fn in self._routes:
            if method != call.method:
                continue
            match = pattern.match(call.path)
            if match:
                result = fn(call, **match.groupdict())
                return result if isinstance(result, Reply) else Reply(body=result)
        return Reply(404, {"error": f"no route for {call.method} {call.path}"})

    # -- helpers for tests and handlers -----------------------------------------------------
    def count(self, method: str, path_regex: str) -> int:
        pattern = re.compile("^" + path_regex + "$")
        return sum(1 for c in self.calls if c.method == method and pattern.match(c.path))

    def new_id(self) -> str:
        return uuid.uuid4().hex

    def take(self, key: str) -> Any:
        """Pop a one-shot scenario flag (e.g. rate-limit only the first call)."""
        with self.lock:
            return self.scenario.pop(key, None)


def tiny_mp4(seconds: float = 1.0, size: str = "320x240", fps: int = 24, audio: bool = False) -> bytes:
    """Real, tiny H.264 bytes for fakes to serve as a provider's output (cached per shape)."""
    return _tiny_media(("mp4", seconds, size, fps, audio))


def tiny_png(size: str = "320x240") -> bytes:
    return _tiny_media(("png", 0, size, 0, False))


def tiny_mp3(seconds: float = 1.0) -> bytes:
    return _tiny_media(("mp3", seconds, "", 0, True))


_CACHE: dict[tuple, bytes] = {}


def _tiny_media(key: tuple) -> bytes:
    if key in _CACHE:
        return _CACHE[key]
    import subprocess
    import tempfile
    from pathlib import Path

    import imageio_ffmpeg

    kind, seconds, size, fps, audio = key
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"out.{kind}"
        if kind == "mp4":
            cmd = [ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}:duration={seconds}"]
            if audio:
                cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", "-shortest"]
            cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)]
        elif kind == "png":
            cmd = [ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"testsrc=size={size}:duration=1", "-frames:v", "1", str(out)]
        else:
            cmd = [ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}", "-c:a", "libmp3lame", str(out)]
        subprocess.run(cmd, check=True, timeout=60)
        _CACHE[key] = out.read_bytes()
    return _CACHE[key]
