"""Local media files under /media/ with Range requests (through signed links: see
tests/security/test_media_urls.py for who may open them)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.media import signing

pytestmark = pytest.mark.django_db

DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def stored(media_root):
    path = media_root / "media" / "0b7d3c52-a3e6-4bb6-9ad5-0c7cf5e2b5a1"
    path.mkdir(parents=True)
    (path / "proxy.mp4").write_bytes(DATA)
    (path / "page.html").write_bytes(b"<script>alert(1)</script>")
    return "/media/media/0b7d3c52-a3e6-4bb6-9ad5-0c7cf5e2b5a1/"


@pytest.fixture
def viewer(crew) -> APIClient:
    """A browser session (the media view is a plain Django view: cookie or token auth)."""
    client = APIClient()
    client.force_login(crew.viewer)
    return client


def link(crew, path: str) -> str:
    """``path`` (``/media/<key>``) signed for the crew's project."""
    key = unquote(path.removeprefix("/media/"))
    return path + "?" + "&".join(f"{k}={v}" for k, v in signing.sign_params(key, project_id=crew.project.pk).items())


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_whole_file(crew, stored, viewer):
    r = viewer.get(link(crew, stored + "proxy.mp4"))
    assert r.status_code == 200
    assert body(r) == DATA
    assert r["Content-Type"] == "video/mp4"
    assert r["Accept-Ranges"] == "bytes"
    assert r["Content-Length"] == str(len(DATA))
    assert r["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, 10239), ("bytes=-500", 9740, 10239), ("bytes=10000-99999", 10000, 10239)],
)
def test_ranges(crew, stored, header, start, end, viewer):
    r = viewer.get(link(crew, stored + "proxy.mp4"), HTTP_RANGE=header)
    assert r.status_code == 206
    assert r["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert r["Content-Length"] == str(end - start + 1)
    assert body(r) == DATA[start : end + 1]


def test_unsatisfiable_range(crew, stored, viewer):
    r = viewer.get(link(crew, stored + "proxy.mp4"), HTTP_RANGE="bytes=20000-")
    assert r.status_code == 416
    assert r["Content-Range"] == f"bytes */{len(DATA)}"


def test_malformed_or_multi_range_serves_everything(crew, stored, viewer):
    r = viewer.get(link(crew, stored + "proxy.mp4"), HTTP_RANGE="bytes=0-1,5-6")
    assert r.status_code == 200 and body(r) == DATA


def test_head_and_conditional(crew, stored, viewer):
    client = viewer
    r = client.head(link(crew, stored + "proxy.mp4"))
    assert r.status_code == 200 and r["Content-Length"] == str(len(DATA))
    etag = client.get(link(crew, stored + "proxy.mp4"))["ETag"]
    assert client.get(link(crew, stored + "proxy.mp4"), HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_non_media_is_an_attachment(crew, stored, viewer):
    r = viewer.get(link(crew, stored + "page.html"))
    assert r.status_code == 200
    assert r["Content-Type"] == "application/octet-stream"
    assert r["Content-Disposition"].startswith("attachment")
    assert "sandbox" in r["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/media/../settings.py",
        "/media/media/../../secret",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/..%2f..%2fetc/passwd",
        "/media/.incoming/x.part",
        "/media/media//etc/passwd",
        "/media/media/0b7d3c52-a3e6-4bb6-9ad5-0c7cf5e2b5a1/missing.mp4",
        "/media/media/0b7d3c52-a3e6-4bb6-9ad5-0c7cf5e2b5a1",
    ],
)
def test_traversal_and_missing_are_404(crew, stored, media_root, path, viewer):
    (media_root / ".incoming").mkdir(exist_ok=True)
    (media_root / ".incoming" / "x.part").write_bytes(b"partial")
    (media_root.parent / "secret").write_bytes(b"secret")
    assert viewer.get(path).status_code == 403  # unsigned
    assert viewer.get(link(crew, path)).status_code == 404  # signed, but no such file


def test_symlink_out_of_media_root_is_404(crew, stored, media_root, viewer):
    outside = media_root.parent / "outside.mp4"
    outside.write_bytes(b"nope")
    (media_root / "media" / "link.mp4").symlink_to(outside)
    assert viewer.get(link(crew, "/media/media/link.mp4")).status_code == 404


def test_requires_a_member(crew, stored, viewer):
    url = link(crew, stored + "proxy.mp4")
    assert APIClient().get(url).status_code == 403  # nobody signed in
    token = Token.objects.create(user=crew.viewer)
    r = APIClient().get(url, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert r.status_code == 200
    r = APIClient().get(url, HTTP_AUTHORIZATION="Token nope")
    assert r.status_code == 403
    client = APIClient()
    client.force_login(crew.viewer)  # a browser session
    assert client.get(url).status_code == 200


def test_not_served_when_storage_is_s3(crew, stored, settings, viewer):
    settings.USE_S3 = True
    assert viewer.get(link(crew, stored + "proxy.mp4")).status_code == 404


def test_writes_are_refused(crew, stored, viewer):
    assert viewer.post(link(crew, stored + "proxy.mp4")).status_code == 405
