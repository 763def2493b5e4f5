"""Serving local media files (``/media/<key>?…``) with HTTP Range support, so browsers can
seek in videos. Only when the storage is the local filesystem (with S3 the URLs are presigned
and this view answers 404).

Access is checked on every request (see apps.media.signing): the URL must be signed and
unexpired (else 403), and the person it is for must still be a member of the file's project.
Files are served with ``nosniff``, a sandboxing CSP and, for anything that is not audio,
video or a raster image, as an attachment, so an uploaded file can never run as a page here.

Behind a proxy, ``MONTAGE_MEDIA_ACCEL`` hands the bytes to the proxy after the check:
``nginx`` answers with ``X-Accel-Redirect: <MONTAGE_MEDIA_ACCEL_PREFIX><key>`` (an
``internal`` location aliasing MEDIA_ROOT), ``apache`` with ``X-Sendfile: <path>``; the proxy
then streams the file and handles ranges. See README, Production.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
import re
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseNotModified,
    StreamingHttpResponse,
)
from django.utils.encoding import filepath_to_uri
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since
from rest_framework.exceptions import APIException

from apps.accounts.authentication import BearerOrTokenAuthentication

from . import signing

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_STREAM_CHUNK = 256 * 1024
_INLINE_TYPES = ("video/", "audio/", "image/")


def _request_user(request):
    """The signed-in user (session cookie, or an API token in the Authorization header), or None."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    if "HTTP_AUTHORIZATION" not in request.META:
        return None
    try:
        result = BearerOrTokenAuthentication().authenticate(request)
    except APIException:
        return None
    return result[0] if result and result[0].is_active else None


def _refused(sentence: str) -> HttpResponse:
    response = HttpResponse(sentence, status=403, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def _resolve(path: str) -> str:
    """The absolute file for ``path`` under MEDIA_ROOT, or Http404 (traversal, hidden, missing)."""
    if not path or "\x00" in path or "\\" in path:
        raise Http404("No such file.")
    normalized = posixpath.normpath(path)
    parts = normalized.split("/")
    if normalized.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise Http404("No such file.")
    root = os.path.realpath(settings.MEDIA_ROOT)
    full = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([root, full]) != root or not os.path.isfile(full):
        raise Http404("No such file.")
    return full


def _content_type(full: str) -> tuple[str, bool]:
    """(content type, inline?) — only media types are shown inline."""
    ctype, encoding = mimetypes.guess_type(full)
    if encoding or not ctype or not ctype.startswith(_INLINE_TYPES) or ctype == "image/svg+xml":
        return "application/octet-stream", False
    return ctype, True


def _ranges(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end) inclusive for one satisfiable range; None to ignore the header (serve it
    all); False when unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match:
        return None  # multiple ranges or another unit: the whole file (allowed by RFC 9110)
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return False
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or (last and end < start):
        return False
    return start, min(end, size - 1)


def _file_range(full: str, start: int, length: int) -> Iterator[bytes]:
    with open(full, "rb") as fh:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(_STREAM_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def _harden(response: HttpResponse, ctype: str, inline: bool, name: str, *, max_age: int = 3600) -> HttpResponse:
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = f"private, max-age={max(0, max_age)}"
    if not inline:
        response["Content-Disposition"] = f'attachment; filename="{os.path.basename(name)}"'
    return response


def _accel(path: str, full: str, ctype: str, inline: bool, *, max_age: int) -> HttpResponse | None:
    """With MONTAGE_MEDIA_ACCEL, an empty response telling the proxy which file to send."""
    mode = str(getattr(settings, "MONTAGE_MEDIA_ACCEL", "") or "").strip().lower()
    if not mode:
        return None
    response = HttpResponse(content_type=ctype)
    if mode == "nginx":
        prefix = str(getattr(settings, "MONTAGE_MEDIA_ACCEL_PREFIX", "/protected-media/") or "/protected-media/")
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + filepath_to_uri(posixpath.normpath(path))
    elif mode == "apache":
        response["X-Sendfile"] = full
    else:
        raise ImproperlyConfigured('MONTAGE_MEDIA_ACCEL must be "", "nginx" or "apache".')
    return _harden(response, ctype, inline, full, max_age=max_age)


@require_safe
def serve_media(request, path: str):
    if getattr(settings, "USE_S3", False):
        raise Http404("No such file.")
    try:
        grant = signing.verify(path, request.GET)
    except signing.LinkRefused as exc:
        return _refused(str(exc))
    if not signing.may_read(grant, _request_user(request)):
        return _refused("You do not have access to this file (you may no longer be a member of its project).")
    full = _resolve(path)
    ctype, inline = _content_type(full)
    max_age = min(3600, grant.expires - signing.now())  # a browser never keeps it past the link
    accel = _accel(path, full, ctype, inline, max_age=max_age)
    if accel is not None:
        return accel
    stat = os.stat(full)
    size = stat.st_size
    etag = f'"{stat.st_mtime_ns:x}-{size:x}"'

    if request.headers.get("If-None-Match") == etag or not was_modified_since(
        request.headers.get("If-Modified-Since"), stat.st_mtime
    ):
        return _harden(HttpResponseNotModified(), ctype, inline, full, max_age=max_age)

    header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    wanted = _ranges(header, size) if header and (not if_range or if_range == etag) else None
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _harden(response, ctype, inline, full, max_age=max_age)
    if wanted:
        start, end = wanted
        length = end - start + 1
        body = [] if request.method == "HEAD" else _file_range(full, start, length)
        response = StreamingHttpResponse(body, status=206, content_type=ctype)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(length)
    elif request.method == "HEAD":
        response = HttpResponse(content_type=ctype)
        response["Content-Length"] = str(size)
    else:
        response = FileResponse(open(full, "rb"), content_type=ctype)  # noqa: SIM115 - FileResponse closes it
        response["Content-Length"] = str(size)
    response["Last-Modified"] = http_date(stat.st_mtime)
    response["ETag"] = etag
    return _harden(response, ctype, inline, full, max_age=max_age)
