"""Domain errors. Services raise these; one exception handler maps them to HTTP.

Every error carries a machine-readable ``code`` and a sentence for people (``detail``).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    default_detail = "The request could not be processed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        if code:
            self.code = code
        self.fields = fields
        # Extra payload merged into the response body (e.g. the current state on a 409).
        self.data = data
        super().__init__(self.detail)


class ValidationError(DomainError):
    status_code = 400
    code = "validation_error"
    default_detail = "Some fields are not valid."


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_detail = "Not found."


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"
    default_detail = "You do not have permission to do this."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_detail = "This conflicts with the current state; reload and try again."


class BudgetExceeded(DomainError):
    status_code = 402
    code = "budget_exceeded"
    default_detail = "This would exceed the budget."


class UnsupportedMedia(DomainError):
    status_code = 400
    code = "unsupported_media"
    default_detail = "This file is not a supported media file."


class UploadIncomplete(DomainError):
    status_code = 400
    code = "upload_incomplete"
    default_detail = "The upload has not received all of its bytes."
