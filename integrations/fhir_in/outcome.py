"""OperationOutcome: how the inbound FHIR endpoint says what is wrong, naming the element
(`issue.expression`, FHIRPath from the resource type, e.g. `ServiceRequest.subject`)."""

from carepath.pathway.errors import DomainError

from .codes import EXT

# A CarePath field (the intake's argument, or a serializer's field) → the element it comes from.
FIELD_EXPRESSIONS = {
    "mrn": "Patient.identifier",
    "given_name": "Patient.name.given",
    "family_name": "Patient.name.family",
    "birth_date": "Patient.birthDate",
    "sex": "Patient.gender",
    "confirm_new_patient": f"Patient.extension('{EXT['confirm_new_patient']}')",
    "guardians": "RelatedPerson",
    "name": "RelatedPerson.name",
    "relationship": "RelatedPerson.relationship",
    "phone": "RelatedPerson.telecom",
    "email": "RelatedPerson.telecom",
    "patient": "ServiceRequest.subject",
    "reason": "ServiceRequest.reasonCode",
    "red_flags": "ServiceRequest.reasonCode",
    "clinical_notes": "ServiceRequest.note",
    "requested_priority": "ServiceRequest.priority",
    "side": "ServiceRequest.bodySite",
    "muscles": "ServiceRequest.bodySite",
    "referred_by": "ServiceRequest.requester",
    **{field: f"ServiceRequest.extension('{url}')" for field, url in EXT.items() if field != "confirm_new_patient"},
}


class FhirProblem(Exception):
    """What the endpoint answers instead of creating: an HTTP status and the issues, each
    `(expression, message, code)` with a FHIR issue-type code (`required`, `value`, `structure`,
    `invalid`, `business-rule`, `duplicate`, `forbidden`…)."""

    def __init__(self, status: int, issues: list[tuple[str, str, str]]):
        super().__init__("; ".join(f"{e}: {m}" for e, m, _ in issues))
        self.status, self.issues = status, issues


def operation_outcome(issues: list[tuple[str, str, str]], severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": severity, "code": code, "diagnostics": message, **({"expression": [expr]} if expr else {})}
            for expr, message, code in issues
        ],
    }


def _messages(value) -> list[str]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _messages(v)]
    if isinstance(value, list | tuple):
        return [m for v in value for m in _messages(v)]
    return [str(value)]


def field_issues(errors: dict, code: str = "invalid", prefix: str = "") -> list[tuple[str, str, str]]:
    """A serializer's or a service's `{field: messages}` as issues; nested guardian errors name the
    RelatedPerson element (`{"guardians": [{"phone": [...]}]}` → `RelatedPerson.telecom`)."""
    issues = []
    for field, value in errors.items():
        if field == "guardians" and isinstance(value, dict | list):
            nested = value.values() if isinstance(value, dict) else value
            if any(isinstance(v, dict) for v in nested):
                for each in nested:
                    issues.extend(field_issues(each, code) if isinstance(each, dict) else [])
                continue
        expression = FIELD_EXPRESSIONS.get(field, prefix or "ServiceRequest")
        issues.extend((expression, message, code) for message in _messages(value))
    return issues


def from_domain(exc: DomainError) -> FhirProblem:
    """A service's refusal (guards, clinical rules, identity rules) as an OperationOutcome."""
    if exc.status == 403:
        return FhirProblem(403, [("", exc.detail, "forbidden")])
    if exc.status == 409:
        return FhirProblem(409, [("Patient", exc.detail, "duplicate")])
    code = "business-rule" if exc.status == 422 else "invalid"
    return FhirProblem(422, field_issues(exc.errors, code) or [("", exc.detail, code)])
