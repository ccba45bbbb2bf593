"""A JSON parser with limits: no body of any size or depth reaches a view unchecked (docs/design.md §5)."""

import json
import re

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is larger than this API accepts."
    default_code = "request_too_large"


# NUL is a character no PostgreSQL text or jsonb value holds; an unpaired surrogate is no character
# at all (UTF-8 cannot encode it). Refused where they arrive, so no field echoes them in an error.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Text may not hold a NUL character (\\u0000) or an unpaired surrogate (\\ud800–\\udfff)."


def _inspect(value, limit: int) -> tuple[int, str | None]:
    """Depth of nested lists/objects, and where the first unstorable string (a key or a value) is,
    e.g. `guardians[0].name`; iteratively (no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            if _UNSTORABLE.search(node):
                return deepest, path or "body"
        elif isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest, None
            if isinstance(node, list):
                stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(node))
                continue
            for key, child in node.items():
                if _UNSTORABLE.search(key):
                    return deepest, path or "body"
                stack.append((child, depth + 1, f"{path}.{key}" if path else key))
    return deepest, None


class BoundedJSONParser(JSONParser):
    """DRF reads the request stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE: enforce it here."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_reject_constant)
        except RecursionError:
            raise exceptions.ParseError("The JSON is nested too deeply.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from None
        depth, unstorable = _inspect(data, MAX_DEPTH)
        if depth > MAX_DEPTH:
            raise exceptions.ParseError(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
        if unstorable is not None:
            raise exceptions.ValidationError({unstorable: [UNSTORABLE_MESSAGE]})
        return data


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
