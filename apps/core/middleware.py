"""Request ids, and JSON for every error under ``/api/``.

- Every response carries ``X-Request-ID`` (the proxy's, when it sent a sane one; else a new
  one). Log records made while the request runs carry it as ``record.request_id``
  (:class:`RequestIdLogFilter`), so a user's 500 can be found in the log by its id.
- Under ``/api/`` nothing answers HTML: an unknown URL is ``404 {code: "not_found"}``, a body
  over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is ``413 {code: "too_large"}``, and an unexpected error
  is ``500 {code: "server_error", detail, request_id}`` with the traceback logged under the same
  id — with ``DEBUG`` on or off. Other paths (the browser app, the admin) keep Django's pages.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse

logger = logging.getLogger("django.request")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("montage_request_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

API_PREFIX = "/api/"

_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "Nothing is at this address."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "This content type is not supported."),
    429: ("throttled", "Too many requests; try again later."),
    500: ("server_error", "Something went wrong on our side. The request id helps us find out what."),
}


def current_request_id() -> str | None:
    """The id of the request being handled (None outside a request)."""
    return _request_id.get()


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` ("-" outside a request) to every record, for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get() or "-"
        return True


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, *, detail: str | None = None, request_id: str | None = None) -> JsonResponse:
    code, default = _CODES.get(status, ("server_error" if status >= 500 else "error", "The request failed."))
    body = {"code": code, "detail": detail or default}
    if status >= 500:
        body["request_id"] = request_id or current_request_id()
    return JsonResponse(body, status=status)


def _is_json(response) -> bool:
    content_type = response.get("Content-Type", "") if hasattr(response, "get") else ""
    return content_type.startswith("application/json") or "+json" in content_type.split(";")[0]


class RequestIdMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        token = self._start(request)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        return self._finish(request, response)

    async def __acall__(self, request):
        token = self._start(request)
        try:
            response = await self.get_response(request)
        finally:
            _request_id.reset(token)
        return self._finish(request, response)

    def _start(self, request) -> contextvars.Token:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        return _request_id.set(request.request_id)

    def _finish(self, request, response):
        if is_api(request) and response.status_code >= 400 and not _is_json(response):
            # Django's own pages (unknown URL, 405 of a plain view, debug pages...) as JSON.
            replacement = error_response(response.status_code, request_id=request.request_id)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            response = replacement
        response["X-Request-ID"] = request.request_id
        return response

    def process_exception(self, request, exception):
        """Exceptions a view let through (DRF's handler answered None): JSON under /api/."""
        if not is_api(request):
            return None
        request_id = getattr(request, "request_id", None) or current_request_id()
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, detail="The request body is larger than this server accepts.")
        if isinstance(exception, Http404):
            return error_response(404)
        if isinstance(exception, PermissionDenied):
            return error_response(403)
        if isinstance(exception, SuspiciousOperation):
            return error_response(400)
        logger.error(
            "Internal Server Error: %s %s (request id %s)",
            request.method,
            request.path,
            request_id,
            exc_info=(type(exception), exception, exception.__traceback__),
            extra={"status_code": 500, "request_id": request_id},
        )
        return error_response(500, request_id=request_id)
