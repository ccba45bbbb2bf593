"""The systems and extensions the inbound referral reads (docs/integrations.md has the table).
CarePath's own code systems are those of the FHIR export (referrals/fhir.py)."""

from referrals.fhir import (
    EXTENSIONS,
    MUSCLE_SYSTEM,
    RED_FLAG_SYSTEM,
    RELATIONSHIP_CODES,
    SIDE_SYSTEM,
    STRUCTURE,
    SYSTEM,
    V3_ROLE,
)

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
# CarePath argument → extension URL (the export's, on ServiceRequest; confirm_new_patient on Patient)
EXT = {name: url for name, (url, _) in EXTENSIONS.items()} | {"confirm_new_patient": f"{STRUCTURE}/confirm-new-patient"}
# ServiceRequest.priority (request-priority) → CarePath's priority: stat is asap (seen within 48 h).
PRIORITIES = {"routine": "routine", "urgent": "urgent", "asap": "asap", "stat": "asap"}
INTENTS = frozenset({"order", "original-order"})
# HL7 v3 RoleCode → the guardian's relationship words (the export's table, read backwards)
RELATIONSHIP_WORDS = {code: words for words, code in reversed(RELATIONSHIP_CODES.items())} | {"GUARD": "guardian"}
# Relationships that carry parental responsibility unless the EHR says otherwise.
PARENTAL_RESPONSIBILITY = frozenset({"MTH", "FTH", "PRN", "GUARD"})
__all__ = ["MUSCLE_SYSTEM", "RED_FLAG_SYSTEM", "RELATIONSHIP_CODES", "SIDE_SYSTEM", "SYSTEM", "V2_0203", "V3_ROLE"]
