"""Media for members only: local media URLs are signed and expiring, and who opens them must
still be a member of the file's project (issue 11, item 2)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.media import signing
from apps.media.models import MediaFile, MediaStatus
from apps.media.selectors import media_payload
from apps.projects.models import Membership
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"
DATA = bytes(range(256)) * 16  # 4096 bytes


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    settings.USE_S3 = False
    settings.MONTAGE_MEDIA_ACCEL = ""
    return root


@pytest.fixture
def media(crew, media_root) -> MediaFile:
    """A ready video of the crew's project, with its proxy on disk."""
    m = MediaFile.objects.create(project=crew.project, owner=crew.owner, storage_key="x", status=MediaStatus.READY, kind="video")
    key = f"media/{m.pk}/proxy.mp4"
    (media_root / "media" / str(m.pk)).mkdir(parents=True)
    (media_root / key).write_bytes(DATA)
    MediaFile.objects.filter(pk=m.pk).update(storage_key=key, proxy_key=key)
    m.refresh_from_db()
    return m


def browser(user) -> APIClient:
    """A signed-in browser (session cookie): what a <video src> request carries."""
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def url_from_api(crew, media, who="viewer") -> str:
    """The proxy URL as the API hands it to a member."""
    r = browser(getattr(crew, who)).get(f"{API}/media/{media.pk}/")
    assert r.status_code == 200, r.content
    return r.json()["proxy_url"]


def test_a_member_plays_the_signed_url_including_ranges(crew, media):
    url = url_from_api(crew, media)
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"e", "p", "s"} and query["p"] == [str(crew.project.pk)]
    viewer = browser(crew.viewer)
    r = viewer.get(url)
    assert r.status_code == 200 and body(r) == DATA and r["Content-Type"] == "video/mp4"
    r = viewer.get(url, HTTP_RANGE="bytes=100-199")
    assert r.status_code == 206
    assert r["Content-Range"] == f"bytes 100-199/{len(DATA)}"
    assert body(r) == DATA[100:200]
    # An API token (scripts) works like the session.
    token = Token.objects.create(user=crew.artist)
    assert APIClient().get(url, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200


def test_the_url_stays_the_same_between_fetches(crew, media, monkeypatch):
    """Players are not reloaded by a refetch: within a time step the URL does not change."""
    base = 1_800_000_000
    monkeypatch.setattr(signing, "now", lambda: base)
    first = url_from_api(crew, media)
    monkeypatch.setattr(signing, "now", lambda: base + 60)
    assert url_from_api(crew, media) == first


def test_unsigned_url_is_refused(crew, media):
    r = browser(crew.director).get(f"/media/{media.proxy_key}")
    assert r.status_code == 403
    assert b"signed link" in r.content


def test_outsider_is_refused_even_with_a_members_url(crew, media):
    url = url_from_api(crew, media)
    assert browser(crew.stranger).get(url).status_code == 403
    assert browser(None).get(url).status_code == 403  # nobody signed in
    # And the API does not hand the outsider a URL at all.
    assert browser(crew.stranger).get(f"{API}/media/{media.pk}/").status_code == 404


def test_removed_member_loses_access_at_once(crew, media):
    url = url_from_api(crew, media, who="artist")
    artist = browser(crew.artist)
    assert artist.get(url).status_code == 200
    Membership.objects.filter(project=crew.project, user=crew.artist).delete()
    r = artist.get(url)
    assert r.status_code == 403
    assert b"no longer be a member" in r.content


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q: {**q, "s": q["s"][:-2] + ("AA" if not q["s"].endswith("AA") else "BB")},  # another signature
        lambda q: {**q, "e": str(int(q["e"]) + 86400)},  # a later expiry
        lambda q: {k: v for k, v in q.items() if k != "p"},  # the project dropped
    ],
    ids=["signature", "expiry", "project"],
)
def test_tampered_url_is_refused(crew, media, tamper):
    url = url_from_api(crew, media)
    path, query = url.split("?")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    changed = tamper(params)
    r = browser(crew.director).get(path + "?" + "&".join(f"{k}={v}" for k, v in changed.items()))
    assert r.status_code == 403


def test_a_url_for_one_file_does_not_open_another(crew, media, media_root):
    other = media_root / "media" / str(media.pk) / "thumbnail.jpg"
    other.write_bytes(b"\xff\xd8\xff" + b"j" * 50)
    url = url_from_api(crew, media)
    forged = url.replace("/proxy.mp4?", "/thumbnail.jpg?")
    assert browser(crew.director).get(forged).status_code == 403


def test_another_projects_member_cannot_use_a_url_of_this_project(crew, media):
    from tests.conftest import make_project

    other_director = make_user()
    make_project(other_director)
    url = url_from_api(crew, media)
    assert browser(other_director).get(url).status_code == 403


def test_expired_url_is_refused(crew, media, monkeypatch, settings):
    settings.MONTAGE_MEDIA_URL_TTL_SECONDS = 3600
    start = 1_800_000_000
    monkeypatch.setattr(signing, "now", lambda: start)
    url = url_from_api(crew, media)
    expires = int(parse_qs(urlsplit(url).query)["e"][0])
    assert 3600 <= expires - start <= 3600 + 900  # the TTL, rounded up to a quarter of it
    viewer = browser(crew.viewer)
    monkeypatch.setattr(signing, "now", lambda: expires - 1)
    assert viewer.get(url).status_code == 200
    monkeypatch.setattr(signing, "now", lambda: expires)
    r = viewer.get(url)
    assert r.status_code == 403 and b"expired" in r.content


def test_unknown_key_with_a_valid_signature_is_404(crew, media):
    key = f"media/{media.pk}/nothing-here.mp4"
    url = signing.media_url_path(key, project_id=crew.project.pk)
    assert browser(crew.director).get(url).status_code == 404


def test_an_unattached_upload_is_a_link_for_its_owner(crew, media_root):
    """Before a project holds it, an upload's file is readable by its owner only."""
    m = MediaFile.objects.create(owner=crew.owner, storage_key="uploads/u1/a.mp4", status=MediaStatus.PENDING)
    (media_root / "uploads" / "u1").mkdir(parents=True)
    (media_root / "uploads" / "u1" / "a.mp4").write_bytes(DATA)
    url = media_payload(m)["url"]
    assert parse_qs(urlsplit(url).query)["u"] == [str(crew.owner.pk)]
    assert browser(crew.owner).get(url).status_code == 200
    crew.owner.is_active = False
    crew.owner.save(update_fields=["is_active"])
    assert browser(None).get(url).status_code == 403


def test_export_links_last_longer_and_die_with_the_membership(crew, media, monkeypatch, settings):
    """The media references of an exported .otio/EDL open without a session (an editor on
    another machine), for MONTAGE_EXPORT_LINK_DAYS, while the exporting member stays."""
    from apps.rendering.artifacts import media_reference_url

    settings.MONTAGE_EXPORT_LINK_DAYS = 7
    start = 1_800_000_000
    monkeypatch.setattr(signing, "now", lambda: start)
    url = media_reference_url(media.proxy_key, project_id=crew.project.pk, user_id=crew.artist.pk)
    assert int(parse_qs(urlsplit(url).query)["e"][0]) - start >= 7 * 86400
    monkeypatch.setattr(signing, "now", lambda: start + 6 * 86400)
    assert browser(None).get(url).status_code == 200
    Membership.objects.filter(project=crew.project, user=crew.artist).delete()
    assert browser(None).get(url).status_code == 403


def test_timeline_pick_urls_are_signed(crew, media):
    """Every API that hands out a local media URL signs it: the timeline's picks too."""
    from apps.production.models import Take
    from apps.timeline.selectors import timeline_get

    Take.objects.create(shot=crew.shot, number=1, media=media, author=crew.owner, status="ready", review_state="approved")
    data = timeline_get(project=crew.project)
    picks = [s["take"] for seg in data["segments"] for s in seg["shots"] if s.get("take")]
    assert picks and picks[0]["media"]["proxy_url"].startswith(f"/media/{media.proxy_key}?")
    assert browser(crew.viewer).get(picks[0]["media"]["proxy_url"]).status_code == 200


@pytest.mark.parametrize(
    ("mode", "header", "expected"),
    [("nginx", "X-Accel-Redirect", "/protected-media/media/{pk}/proxy.mp4"), ("apache", "X-Sendfile", "{root}/media/{pk}/proxy.mp4")],
)
def test_behind_a_proxy_the_file_is_handed_over_after_the_check(crew, media, media_root, settings, mode, header, expected):
    import os

    settings.MONTAGE_MEDIA_ACCEL = mode
    url = url_from_api(crew, media)
    r = browser(crew.viewer).get(url, HTTP_RANGE="bytes=0-9")
    assert r.status_code == 200
    assert r[header] == expected.format(pk=media.pk, root=os.path.realpath(media_root))
    assert body(r) == b""  # the proxy sends the bytes (and handles the range)
    assert r["Content-Type"] == "video/mp4" and r["X-Content-Type-Options"] == "nosniff"
    # The check still comes first.
    r = browser(crew.stranger).get(url)
    assert r.status_code == 403 and header not in r
    assert browser(crew.viewer).get(f"/media/{media.proxy_key}").status_code == 403
