"""Made-up clinical content for a child with facial twitching, one source for the demo
(`seed_demo`), the tests' factories and the benchmark's seed (bench/seed.py). No real patient.

Each is what a clinician would plausibly write at that step of the pathway (docs/design.md §3):
the referral, the first assessment, the MRI question, three kinds of report findings with their
impressions, and the conclusion. Callers copy before changing (`{**ASSESSMENT, "severity": ...}`).
"""

REFERRAL = dict(
    reason="Left eye twitching for 6 months, now spreading to the cheek.",
    side="left",
    muscles=["orbicularis_oculi", "buccinator"],
    requested_priority="routine",
    red_flags=[],
    clinical_notes="",
)

ASSESSMENT = dict(
    findings="Brief clonic contractions of the left orbicularis oculi spreading to the cheek; "
    "no weakness; otherwise normal neurological examination.",
    working_diagnosis="hfs_primary",
    brow_lift_sign=True,
    severity={"scale": "smc", "score": 2},
    mri_indicated=True,
)

CLINICAL_QUESTION = "NVC of CN VII?"

# Report findings: a normal scan, neurovascular compression (the usual cause) and a posterior-fossa
# mass (the result that must reach neurology at once).
FINDINGS_NORMAL = {
    "nvc": {"status": "absent"},
    "lesion": {"present": False},
    "arachnoid_cyst": False,
    "adhesions": False,
    "hydrocephalus": False,
    "other": "",
}
IMPRESSION_NORMAL = "Normal MRI; no neurovascular compression demonstrated."

FINDINGS_NVC = {
    **FINDINGS_NORMAL,
    "nvc": {
        "status": "present",
        "side": "left",
        "vessel": "aica",
        "segment": "root_exit_point",
        "severity": "indentation",
        "multiple": False,
    },
}
IMPRESSION_NVC = "Left AICA indenting the root exit zone of CN VII."

FINDINGS_MASS = {
    **FINDINGS_NORMAL,
    "lesion": {"present": True, "location": "fourth_ventricle", "kind": "enhancing mass, likely medulloblastoma"},
    "hydrocephalus": True,
    "other": "Early obstructive hydrocephalus.",
}
IMPRESSION_MASS = "Enhancing fourth-ventricle mass with early hydrocephalus."

CONCLUSION = dict(
    diagnosis="hfs_primary", plan="botulinum_toxin", follow_up="Review in 3 months.", letter="Dear colleague, ..."
)


def guardian(name="Sam Carer", phone="+447700900123", email="sam.carer@example.org") -> dict:
    """A mother with parental responsibility, who receives the appointment messages."""
    return {
        "name": name,
        "relationship": "mother",
        "phone": phone,
        "email": email,
        "has_parental_responsibility": True,
    }
