"""Bad bodies and unexpected errors under /api/ answer JSON, never a Django page or a 500
without a trace: deep and huge JSON, unknown URLs, wrong methods, a view that crashes."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from apps.core.parsers import json_depth
from tests.api.helpers import API, assert_error

pytestmark = pytest.mark.django_db

DEBUG_MODES = [pytest.param(False, id="debug-off"), pytest.param(True, id="debug-on")]


def _nested(depth: int) -> str:
    return '{"username": ' + "[" * depth + "1" + "]" * depth + ', "password": "x"}'


def _post_raw(client, url: str, body: str | bytes, content_type: str = "application/json"):
    return client.generic("POST", url, body, content_type=content_type)


@pytest.mark.parametrize("debug", DEBUG_MODES)
@pytest.mark.parametrize("url", [f"{API}/auth/token/", f"{API}/auth/register/"])
def test_deeply_nested_json_is_a_400_without_login(url, debug):
    with override_settings(DEBUG=debug):
        response = _post_raw(APIClient(), url, _nested(100_000))
    body = assert_error(response, 400, "too_deep")
    assert "64" in body["detail"]


def test_json_at_the_depth_limit_is_parsed(crew):
    # 64 levels is allowed: the refusal is about depth, so a body at the limit reaches the view.
    ok = '{"title": "Deep", "x": ' + "[" * 63 + "]" * 63 + "}"
    response = _post_raw(crew.client("director"), f"{API}/projects/", ok)
    assert response.status_code == 201, response.json()
    too_deep = '{"title": "Deep", "x": ' + "[" * 64 + "]" * 64 + "}"
    assert_error(_post_raw(crew.client("director"), f"{API}/projects/", too_deep), 400, "too_deep")


def test_brackets_inside_strings_do_not_count_as_depth():
    assert json_depth(b'{"a": "[[[[[[[[[[{{{{{{{{\\"]]]]", "b": [1, {"c": []}]}') == 4
    assert json_depth(b"[]") == 1
    assert json_depth(b'"x"') == 0


@pytest.mark.parametrize("debug", DEBUG_MODES)
def test_huge_json_is_a_413(crew, debug):
    blob = json.dumps({"title": "Big", "description": "x" * (1024 * 1024 + 10)})
    with override_settings(DEBUG=debug):
        response = _post_raw(crew.client("director"), f"{API}/projects/", blob)
    assert_error(response, 413, "too_large")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=None, MONTAGE_API_MAX_JSON_BYTES=2048)
def test_json_limit_is_a_setting_even_when_django_has_none(crew):
    body = json.dumps({"title": "Big", "description": "x" * 4096})
    assert_error(_post_raw(crew.client("director"), f"{API}/projects/", body), 413, "too_large")
    small = json.dumps({"title": "Small", "description": "x" * 100})
    assert _post_raw(crew.client("director"), f"{API}/projects/", small).status_code == 201


def test_invalid_json_is_a_parse_error():
    assert_error(_post_raw(APIClient(), f"{API}/auth/token/", b'{"username": '), 400, "parse_error")
    assert_error(_post_raw(APIClient(), f"{API}/auth/token/", b'{"username": NaN}'), 400, "parse_error")
    assert_error(_post_raw(APIClient(), f"{API}/auth/token/", b"\xff\xfe{"), 400, "parse_error")


@pytest.mark.parametrize("debug", DEBUG_MODES)
def test_unknown_api_url_is_a_json_404(debug):
    with override_settings(DEBUG=debug):
        response = APIClient().get(f"{API}/no-such-thing/")
        other = APIClient().get("/api/v2/projects/")
    body = assert_error(response, 404, "not_found")
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Request-ID"]
    assert_error(other, 404, "not_found")
    assert "request_id" not in body


@pytest.mark.parametrize("debug", DEBUG_MODES)
def test_method_not_allowed_is_a_json_405(crew, debug):
    with override_settings(DEBUG=debug):
        response = crew.client("director").delete(f"{API}/auth/token/")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_paths_outside_the_api_keep_html():
    response = APIClient().get("/some/deep/link")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["X-Request-ID"]


def _crash(*args, **kwargs):
    raise RuntimeError("kaboom in the selector")


@pytest.mark.parametrize("debug", DEBUG_MODES)
def test_unexpected_error_is_a_json_500_with_a_request_id_in_the_log(crew, monkeypatch, caplog, debug):
    from apps.projects.api import views

    monkeypatch.setattr(views.selectors, "project_list", _crash, raising=True)
    with override_settings(DEBUG=debug), caplog.at_level(logging.ERROR):
        response = crew.client("director").get(f"{API}/projects/")
    body = assert_error(response, 500, "server_error")
    assert "kaboom" not in json.dumps(body)  # no internals for the user
    request_id = body["request_id"]
    assert request_id and response["X-Request-ID"] == request_id
    records = [r for r in caplog.records if request_id in r.getMessage()]
    assert records, [r.getMessage() for r in caplog.records]
    assert records[0].exc_info and "kaboom in the selector" in str(records[0].exc_info[1])
    assert records[0].request_id == request_id


def test_a_sane_incoming_request_id_is_kept_and_a_bad_one_replaced():
    kept = APIClient().get(f"{API}/nope/", HTTP_X_REQUEST_ID="proxy-1234abcd")
    assert kept["X-Request-ID"] == "proxy-1234abcd"
    replaced = APIClient().get(f"{API}/nope/", HTTP_X_REQUEST_ID="<script>")
    assert replaced["X-Request-ID"] != "<script>" and len(replaced["X-Request-ID"]) == 32


def test_local_upload_bytes_are_not_bound_by_the_json_limit(crew, settings, tmp_path):
    # The upload PUT streams raw bytes to disk: 3 MB passes although JSON bodies stop at 1 MB.
    settings.MEDIA_ROOT = str(tmp_path)
    client = crew.client("owner")
    size = 3 * 1024 * 1024
    assert size > settings.MONTAGE_API_MAX_JSON_BYTES and size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    created = client.post(
        f"{API}/uploads/",
        {"project": str(crew.project.pk), "filename": "big.mp4", "size": size, "content_type": "video/mp4"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    response = client.generic("PUT", created.json()["url"], b"\x00" * size, content_type="video/mp4")
    assert response.status_code == 200, response.json()
    assert response.json()["received_bytes"] == size


def test_under_asgi_too(crew, monkeypatch, caplog):
    # daphne serves the studio through Django's ASGI handler: the middleware runs async there.
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient
    from rest_framework.authtoken.models import Token

    from apps.projects.api import views

    client = AsyncClient()
    auth = {"headers": {"Authorization": f"Token {Token.objects.create(user=crew.director).key}"}}
    missing = async_to_sync(client.get)(f"{API}/no-such-thing/", **auth)
    assert_error(missing, 404, "not_found")
    assert missing["X-Request-ID"]
    monkeypatch.setattr(views.selectors, "project_list", _crash, raising=True)
    with caplog.at_level(logging.ERROR):
        crashed = async_to_sync(client.get)(f"{API}/projects/", **auth)
    body = assert_error(crashed, 500, "server_error")
    assert crashed["X-Request-ID"] == body["request_id"]
    assert any(body["request_id"] in r.getMessage() for r in caplog.records)
