"""The API's JSON parser: bodies are bounded in size and in nesting depth.

Python's ``json`` recurses once per level of nesting, so ``[[[[...]]]]`` a few thousand levels
deep raised ``RecursionError`` (a 500) before any view ran, even without logging in. The depth
is measured on the raw bytes before parsing, with strings blanked out, so nothing recurses.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant

from . import limits

# A JSON string (possessive: linear time even on hostile input).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"')
_BRACKETS = re.compile(rb"[\[\]{}]")


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."


class JSONTooDeep(ParseError):
    default_code = "too_deep"


def max_json_bytes() -> int:
    return getattr(settings, "MONTAGE_API_MAX_JSON_BYTES", limits.MAX_JSON_BYTES)


def max_json_depth() -> int:
    return getattr(settings, "MONTAGE_API_MAX_JSON_DEPTH", limits.MAX_JSON_DEPTH)


def json_depth(raw: bytes) -> int:
    """Deepest nesting of arrays/objects in ``raw`` (JSON text), without parsing it."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRING.sub(b"", raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    """``application/json`` at most ``MONTAGE_API_MAX_JSON_BYTES`` long (else 413 ``too_large``)
    and ``MONTAGE_API_MAX_JSON_DEPTH`` levels deep (else 400 ``too_deep``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_json_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"The JSON body is larger than {limit} bytes.")
        depth_limit = max_json_depth()
        if json_depth(raw) > depth_limit:
            raise JSONTooDeep(f"The JSON body is nested deeper than {depth_limit} levels.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
            parse_constant = strict_constant if api_settings.STRICT_JSON else None
            return json.loads(text, parse_constant=parse_constant)
        except (ValueError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:  # unreachable with a sane depth limit; never a 500
            raise JSONTooDeep("The JSON body is nested too deeply.") from None
