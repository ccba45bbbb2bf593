"""The message's resources: a `ServiceRequest` alone (its Patient, RelatedPersons and referrer
`contained`, referred to as `#id`) or a `transaction`/`collection` Bundle carrying them as entries
(referred to by `fullUrl` or `Type/id`). Each is parsed with the R4B models of fhir.resources (the
library of the FHIR export) before CarePath reads a single element: what does not parse is a 400."""

from dataclasses import dataclass, field

import pydantic
from fhir.resources.R4B import get_fhir_model_class

from .outcome import FhirProblem

BUNDLE_TYPES = frozenset({"transaction", "collection"})


@dataclass
class Message:
    """The ServiceRequest and the resources it may refer to, by every name they can be given."""

    service_request: dict
    by_reference: dict[str, dict] = field(default_factory=dict)

    def resolve(self, reference: dict | None) -> dict | None:
        ref = (reference or {}).get("reference", "")
        return self.by_reference.get(ref) if ref else None

    def of_type(self, resource_type: str) -> list[dict]:
        seen, found = set(), []
        for resource in self.by_reference.values():
            if resource.get("resourceType") == resource_type and id(resource) not in seen:
                seen.add(id(resource))
                found.append(resource)
        return found


def read(body) -> Message:
    if not isinstance(body, dict) or body.get("resourceType") not in {"ServiceRequest", "Bundle"}:
        raise FhirProblem(400, [("", "Send a ServiceRequest, or a transaction or collection Bundle.", "structure")])
    _parse(body)
    if body["resourceType"] == "ServiceRequest":
        return _contained(body)
    return _bundle(body)


def _contained(request: dict) -> Message:
    message = Message(service_request=request)
    for resource in request.get("contained") or []:
        if resource.get("id"):
            message.by_reference[f"#{resource['id']}"] = resource
    return message


def _bundle(bundle: dict) -> Message:
    if bundle.get("type") not in BUNDLE_TYPES:
        raise FhirProblem(400, [("Bundle.type", "The Bundle must be of type transaction or collection.", "value")])
    resources = [(e.get("fullUrl", ""), e.get("resource") or {}) for e in bundle.get("entry") or []]
    requests = [r for _, r in resources if r.get("resourceType") == "ServiceRequest"]
    if len(requests) != 1:
        found = f"{len(requests)} were found" if requests else "none was found"
        raise FhirProblem(422, [("Bundle.entry", f"Send exactly one ServiceRequest per Bundle ({found}).", "invalid")])
    message = Message(service_request=requests[0])
    for full_url, resource in resources:
        if full_url:
            message.by_reference[full_url] = resource
        if resource.get("id"):
            message.by_reference[f"{resource['resourceType']}/{resource['id']}"] = resource
    return message


def _parse(resource: dict) -> None:
    """fhir.resources' parse of the whole message; each error named from its resource's type."""
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except pydantic.ValidationError as exc:
        raise FhirProblem(
            400, [(_expression(resource, e["loc"]), e["msg"], "structure") for e in exc.errors()]
        ) from None


def _expression(resource: dict, loc: tuple) -> str:
    """pydantic's location → FHIRPath: `("entry", 1, "resource", "birthDate")` in a Bundle whose
    second entry is a Patient → `Patient.birthDate`; `("identifier", 0, "value")` →
    `ServiceRequest.identifier[0].value`."""
    root, parts = resource.get("resourceType", ""), list(loc)
    if root == "Bundle" and len(parts) >= 3 and parts[0] == "entry" and parts[2] == "resource":
        entries = resource.get("entry") or []
        index = parts[1] if isinstance(parts[1], int) and parts[1] < len(entries) else None
        entry = entries[index] if index is not None and isinstance(entries[index], dict) else {}
        root, parts = (entry.get("resource") or {}).get("resourceType", "Bundle.entry.resource"), parts[3:]
    path = root
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
