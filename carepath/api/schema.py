"""OpenAPI post-processing: every operation documents the problem+json answers it can give, so
generated clients and schema fuzzers (schemathesis) know every status code (docs/design.md §5)."""

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True, "description": "Field → messages."},
    },
    "required": ["type", "title", "status", "detail"],
}
ALWAYS = {
    "401": "Not signed in, or the token is invalid, expired or revoked.",
    "403": "Your role may not do this.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "429": "Too many requests (see Retry-After).",
    "500": "Unexpected error (no internal detail is given).",
}
WITH_PATH_ID = {"404": "No such object, or not one you may see."}
WITH_QUERY = {"400": "Invalid query parameter or body.", "404": "Invalid cursor or no such object."}
WITH_BODY = {
    "400": "Invalid data; `errors` names each field.",
    "409": "Not allowed in the current state, or stale version.",
    "413": "Request body too large.",
    "415": "Unsupported media type (send application/json).",
    "422": "Refused by a rule: Idempotency-Key reused with a different request, a referrer you may not name, "
    "or control characters in text.",
}
# An operation marked `x-errors-as: OperationOutcome` (the FHIR endpoints) answers errors as FHIR does.
OPERATION_OUTCOME_SCHEMA = {
    "type": "object",
    "description": "FHIR R4 OperationOutcome: each issue's `expression` names the element (FHIRPath).",
    "properties": {"resourceType": {"type": "string", "enum": ["OperationOutcome"]}, "issue": {"type": "array"}},
    "required": ["resourceType", "issue"],
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}


def add_problem_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"], schemas["OperationOutcome"] = PROBLEM_SCHEMA, OPERATION_OUTCOME_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            codes = dict(ALWAYS)
            if "{" in path:
                codes |= WITH_PATH_ID
            if method == "get":
                codes |= WITH_QUERY
            if method in ("post", "put", "patch", "delete"):
                codes |= WITH_BODY | WITH_PATH_ID
            responses = operation.setdefault("responses", {})
            fhir = operation.pop("x-errors-as", "") == "OperationOutcome"
            media, ref = (
                ("application/fhir+json", "OperationOutcome") if fhir else ("application/problem+json", "Problem")
            )
            for code, description in codes.items():
                entry = responses.setdefault(code, {"description": description})
                entry.setdefault("content", {})[media] = {"schema": {"$ref": f"#/components/schemas/{ref}"}}
                if code == "429":
                    entry.setdefault("headers", {}).update(RETRY_AFTER)
    return result


def _register_bearer_scheme():
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class BearerTokenScheme(OpenApiAuthenticationExtension):
        target_class = "carepath.api.tokens.BearerTokenAuthentication"
        name = "bearerAuth"

        def get_security_definition(self, auto_schema):
            return {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/token/ for a token."}

    return BearerTokenScheme


BearerTokenScheme = _register_bearer_scheme()


def fhir_operation_paths(result, generator, request, public):
    """A FHIR operation's path keeps its `$` (`…/Subscription/{id}/$status`): drf-spectacular drops
    it when it reads the URL pattern. An operation marks itself with `x-fhir-operation: "$name"`."""
    paths = result.get("paths", {})
    for path in list(paths):
        names = {op.pop("x-fhir-operation", None) for op in paths[path].values() if isinstance(op, dict)} - {None}
        for name in names:
            bare = "/" + name.lstrip("$")
            if path.endswith(bare):
                paths[path[: -len(bare)] + "/" + name] = paths.pop(path)
    return result
