"""FHIR elements → the arguments of `referrals.intake.patient_create` and `referral_create`
(the table is in docs/integrations.md). Every element CarePath needs and cannot read is an issue
naming it; all of them are reported at once (422), and nothing is written."""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from carepath.pathway.roles import Role

from . import codes as c
from .outcome import FhirProblem
from .reading import Message


@dataclass
class Order:
    placer: tuple[str, str] | None
    patient: dict
    referral: dict
    referred_by: int | None = None
    issues: list = field(default_factory=list)


def order_from(message: Message, *, if_none_exist: str = "") -> Order:
    issues: list[tuple[str, str, str]] = []
    request = message.service_request
    patient = message.resolve(request.get("subject"))
    if patient is None or patient.get("resourceType") != "Patient":
        issues.append(("ServiceRequest.subject", "Refer to the Patient sent in the same message.", "required"))
        patient = {}
    order = Order(
        placer=_placer(request, if_none_exist, issues),
        patient={**_patient(patient, issues), "guardians": _guardians(message, patient, issues)},
        referral=_referral(request, issues),
        referred_by=_referrer(message, request.get("requester"), issues),
    )
    if issues:
        raise FhirProblem(422, issues)
    return order


# --- the placer's identifier ------------------------------------------------------------------------
def _placer(request: dict, if_none_exist: str, issues) -> tuple[str, str] | None:
    placers = [
        (i.get("system", ""), i.get("value", ""))
        for i in request.get("identifier") or []
        if _has_code(i.get("type"), c.V2_0203, "PLAC")
    ]
    header = _if_none_exist(if_none_exist, issues)
    if header and placers and header not in placers:
        issues.append(
            ("ServiceRequest.identifier", "If-None-Exist names another identifier than the PLAC one.", "invalid")
        )
    found = header or next((p for p in placers if p[0] and p[1]), None)
    if found is None and not if_none_exist:
        issues.append(
            (
                "ServiceRequest.identifier",
                "Give the placer's order number: an identifier with type PLAC (v2-0203) with a system and a "
                "value, or If-None-Exist: identifier=system|value.",
                "required",
            )
        )
    return found


def _if_none_exist(header: str, issues) -> tuple[str, str] | None:
    if not header:
        return None
    name, _, token = header.partition("=")
    system, bar, value = token.partition("|")
    if name.strip() != "identifier" or not bar or not system or not value:
        issues.append(("ServiceRequest.identifier", "If-None-Exist must be identifier=system|value.", "invalid"))
        return None
    return system, value


# --- the child -------------------------------------------------------------------------------------
def _patient(patient: dict, issues) -> dict:
    if not patient:
        return {}
    names = patient.get("name") or []
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    if not name.get("family") or not name.get("given"):
        issues.append(("Patient.name", "Give the child's family and given name.", "required"))
    if not patient.get("birthDate"):
        issues.append(("Patient.birthDate", "Give the child's date of birth.", "required"))
    return {
        "mrn": _mrn(patient.get("identifier") or [], issues),
        "given_name": " ".join(name.get("given") or []),
        "family_name": name.get("family", ""),
        "birth_date": patient.get("birthDate", ""),
        "sex": patient.get("gender", "unknown"),
        "confirm_new_patient": bool(_extension(patient, c.EXT["confirm_new_patient"], "valueBoolean")),
    }


def _mrn(identifiers: list[dict], issues) -> str:
    """The identifier typed MR (v2-0203), else CarePath's MRN system, else the only one."""
    typed = [i for i in identifiers if _has_code(i.get("type"), c.V2_0203, "MR")]
    ours = [i for i in identifiers if i.get("system") == f"{c.SYSTEM}/mrn"]
    found = typed or ours or (identifiers if len(identifiers) == 1 else [])
    if not found or not found[0].get("value"):
        issues.append(("Patient.identifier", "Give the child's MRN: an identifier with type MR (v2-0203).", "required"))
        return ""
    return found[0]["value"]


def _guardians(message: Message, patient: dict, issues) -> list[dict]:
    guardians = []
    for person in message.of_type("RelatedPerson"):
        if message.resolve(person.get("patient")) is not patient:
            issues.append(("RelatedPerson.patient", "Each RelatedPerson must refer to the referred child.", "invalid"))
            continue
        relationship = person.get("relationship") or []
        code = next((cd.get("code") for r in relationship for cd in r.get("coding") or [] if cd.get("code")), "")
        words = next((r["text"] for r in relationship if r.get("text")), "") or c.RELATIONSHIP_WORDS.get(code, "")
        if not words:
            issues.append(("RelatedPerson.relationship", "Give the relationship (v3 RoleCode or text).", "required"))
        telecom = person.get("telecom") or []
        guardians.append(
            {
                "name": _person_name(person.get("name") or []),
                "relationship": words,
                "phone": next((t.get("value", "") for t in telecom if t.get("system") in {"phone", "sms"}), ""),
                "email": next((t.get("value", "") for t in telecom if t.get("system") == "email"), ""),
                "has_parental_responsibility": code in c.PARENTAL_RESPONSIBILITY or not code,
            }
        )
    return guardians


def _person_name(names: list[dict]) -> str:
    name = names[0] if names else {}
    return name.get("text") or " ".join([*(name.get("given") or []), name.get("family", "")]).strip()


# --- the referral ----------------------------------------------------------------------------------
def _referral(request: dict, issues) -> dict:
    if request.get("status") != "active":
        issues.append(("ServiceRequest.status", "Only an active ServiceRequest is a referral.", "value"))
    if request.get("intent") not in c.INTENTS:
        issues.append(("ServiceRequest.intent", "The intent must be order or original-order.", "value"))
    priority = c.PRIORITIES.get(request.get("priority", "routine"))
    if priority is None:
        issues.append(("ServiceRequest.priority", "The priority must be routine, urgent, asap or stat.", "value"))
    reasons = request.get("reasonCode") or []
    sites = [cd for s in request.get("bodySite") or [] for cd in s.get("coding") or []]
    return {
        "reason": _reason(reasons),
        "red_flags": _codes(reasons, c.RED_FLAG_SYSTEM),
        "clinical_notes": "\n\n".join(n["text"] for n in request.get("note") or [] if n.get("text")),
        "requested_priority": priority or "",
        "side": next((cd.get("code", "") for cd in sites if cd.get("system") == c.SIDE_SYSTEM), ""),
        "muscles": [cd.get("code", "") for cd in sites if cd.get("system") == c.MUSCLE_SYSTEM],
        **_extensions(request),
    }


def _extensions(request: dict) -> dict:
    found = {}
    for name, (url, kind) in c.EXTENSIONS.items():
        value = _extension(request, url, kind)
        if value is not None:
            found[name] = value
    return found


def _reason(concepts: list[dict]) -> str:
    """The texts of the reasons that are not red flags (those are `red_flags`: the export sends each
    as its own coded reason); without a text, their codings' displays."""
    concepts = [r for r in concepts if not _codes([r], c.RED_FLAG_SYSTEM)]
    texts = [r["text"] for r in concepts if r.get("text")]
    if texts:
        return "\n".join(texts)
    codings = [cd for r in concepts for cd in r.get("coding") or []]
    return ", ".join(cd["display"] for cd in codings if cd.get("display"))


# --- the referrer ----------------------------------------------------------------------------------
def _referrer(message: Message, requester: dict | None, issues) -> int | None:
    """The requester (a Practitioner, or a PractitionerRole's practitioner) as an active CarePath
    pediatrician: by an identifier in CarePath's user system (the username), else by e-mail."""
    if not requester:
        return None
    who = message.resolve(requester)
    if who is not None and who.get("resourceType") == "PractitionerRole":
        who = message.resolve(who.get("practitioner"))
    if who is None or who.get("resourceType") != "Practitioner":
        issues.append(("ServiceRequest.requester", "Refer to the Practitioner sent in the message.", "invalid"))
        return None
    users = get_user_model().objects.filter(groups__name=Role.PEDIATRICIAN, is_active=True)
    usernames = [i.get("value") for i in who.get("identifier") or [] if i.get("system") == f"{c.SYSTEM}/user"]
    emails = [t.get("value") for t in who.get("telecom") or [] if t.get("system") == "email" and t.get("value")]
    found = users.filter(username__in=usernames).first() if usernames else None
    if found is None and emails:
        found = users.filter(email__iexact=emails[0]).first()
    if found is None:
        issues.append(
            (
                "ServiceRequest.requester",
                "The referring clinician must be an active CarePath pediatrician.",
                "business-rule",
            )
        )
        return None
    return found.pk


# --- small readers ---------------------------------------------------------------------------------
def _has_code(concept: dict | None, system: str, code: str) -> bool:
    return any(cd.get("system") == system and cd.get("code") == code for cd in (concept or {}).get("coding") or [])


def _codes(concepts: list[dict], system: str) -> list[str]:
    return [
        cd.get("code", "") for concept in concepts for cd in concept.get("coding") or [] if cd.get("system") == system
    ]


def _extension(resource: dict, url: str, value_key: str):
    for ext in resource.get("extension") or []:
        if ext.get("url") == url:
            return ext.get(value_key)
    return None
