"""One exception handler for the whole API: every 4xx has ``{code, detail, fields?}``."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError
from .parsers import JSONTooDeep, RequestTooLarge
from .throttling import wait_sentence

_DRF_CODES = {
    # Subclasses before their bases: the first match wins.
    JSONTooDeep: "too_deep",
    RequestTooLarge: "too_large",
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
    drf.ParseError: "parse_error",
}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        flat = [_flatten(v) for v in detail]
        if all(isinstance(v, str) for v in flat):
            return flat
        return flat
    return str(detail)


def _first_message(fields: Any) -> str:
    if isinstance(fields, dict):
        for key, value in fields.items():
            msg = _first_message(value)
            if msg:
                return msg if key in ("non_field_errors", "__all__") else f"{key}: {msg}"
    if isinstance(fields, list):
        for value in fields:
            msg = _first_message(value)
            if msg:
                return msg
    if isinstance(fields, str):
        return fields
    return ""


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"code": exc.code, "detail": exc.detail}
        if exc.fields:
            body["fields"] = exc.fields
        if exc.data:
            body.update(exc.data)
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # body over DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = RequestTooLarge("The request body is larger than this server accepts.")
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf.ValidationError):
        fields = _flatten(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields if isinstance(fields, list) else [fields]}
        message = _first_message(fields) or "Some fields are not valid."
        response.data = {"code": "validation_error", "detail": message, "fields": fields}
        return response
    if isinstance(exc, drf.Throttled):
        response.data = _throttled_body(exc)
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
    if code is None:
        code = exc.get_codes() if isinstance(exc, drf.APIException) else "error"
        if not isinstance(code, str):
            code = "error"
    detail = exc.detail if isinstance(exc, drf.APIException) else str(exc)
    response.data = {"code": code, "detail": str(detail)}
    return response


def _throttled_body(exc: drf.Throttled) -> dict[str, Any]:
    """429: ``{code: "throttled", detail, retry_after}`` (DRF has set the Retry-After header)."""
    wait = max(1, math.ceil(exc.wait or 1))
    detail = str(exc.detail)
    if detail.startswith("Request was throttled"):  # DRF's own wording: say it for people
        detail = f"Too many requests; try again in {wait_sentence(wait)}."
    return {"code": "throttled", "detail": detail, "retry_after": wait}
