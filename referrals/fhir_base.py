"""What every builder of the FHIR export shares (referrals/fhir.py, referrals/fhir_care.py): CarePath's
base URL for its own code systems and extensions, stable `urn:uuid:` full URLs, references, coded
concepts, and the rule that FHIR has no empty elements."""

import uuid

from django.conf import settings

NS = uuid.UUID("6f1c3a52-2d8e-4e0a-9a57-8a9c2b6e4f10")
SYSTEM = "https://carepath.example.org/fhir"
STRUCTURE = f"{SYSTEM}/StructureDefinition"
SNOMED = "http://snomed.info/sct"


def urn_uuid(kind: str, resource_id: str) -> str:
    """A stable full URL per resource (same object → same UUID in every export)."""
    return f"urn:uuid:{uuid.uuid5(NS, f'{settings.CAREPATH_BASE_URL}/{kind}/{resource_id}')}"


def reference(kind: str, resource_id: str, display: str = "") -> dict:
    ref = {"reference": urn_uuid(kind, resource_id), "type": kind}
    if display:
        ref["display"] = display
    return ref


def coded(system: str, code: str, display: str = "") -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display or code}


def iso(value) -> str | None:
    return value.isoformat() if value else None


def clean(resource: dict) -> dict:
    """FHIR forbids empty elements: drop None, "" and [] values (recursively)."""
    if isinstance(resource, dict):
        cleaned = {k: clean(v) for k, v in resource.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(resource, list):
        return [c for c in (clean(v) for v in resource) if c not in (None, "", [], {})]
    return resource


def user_display(user) -> dict | None:
    """A user as the export names people: by display only (docs/fhir.md)."""
    return {"display": user.get_full_name() or user.get_username()} if user else None
