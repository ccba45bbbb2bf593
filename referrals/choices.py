"""Codes of the referral pathway (docs/design.md §3): the database stores codes, the UI shows labels.
The priority, shared with MRI requests, work items and SLA policies, is `carepath.pathway.priority.Priority`."""

from django.db import models


class ReferralState(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    RETURNED = "returned", "Returned to referrer"
    TRIAGED = "triaged", "Triaged"
    ASSESSED = "assessed", "Assessed"
    IMAGING = "imaging", "Imaging"
    RESULTS_REVIEW = "results_review", "Results review"
    NEUROSURGERY = "neurosurgery", "Neurosurgery consult"
    CONCLUDED = "concluded", "Concluded"
    CLOSED = "closed", "Closed"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


class RedFlag(models.TextChoices):
    CENTRAL_NEURO_SIGNS = "central_neuro_signs", "New cerebellar or other central signs"
    CRANIAL_NERVE_DEFICIT = "cranial_nerve_deficit", "Other cranial nerve deficit"
    FACIAL_WEAKNESS = "facial_weakness", "Facial weakness"
    MORNING_HEADACHE_VOMITING = "morning_headache_vomiting", "Morning headache or vomiting"
    PAPILLOEDEMA = "papilloedema", "Papilloedema"
    ATAXIA_GAIT_CHANGE = "ataxia_gait_change", "Ataxia or change in gait"
    EYE_DEVIATION_NYSTAGMUS = "eye_deviation_nystagmus", "Eye deviation or nystagmus"
    ONSET_IN_INFANCY = "onset_in_infancy", "Onset in infancy"
    BILATERAL = "bilateral", "Bilateral twitching"
    RAPID_PROGRESSION = "rapid_progression", "Rapid progression"


class Muscle(models.TextChoices):
    ORBICULARIS_OCULI = "orbicularis_oculi", "Orbicularis oculi (around the eye)"
    ORBICULARIS_ORIS = "orbicularis_oris", "Orbicularis oris (around the mouth)"
    BUCCINATOR = "buccinator", "Buccinator (cheek)"
    FRONTALIS = "frontalis", "Frontalis (forehead)"
    PLATYSMA = "platysma", "Platysma (neck)"
    OTHER = "other", "Other"


class Frequency(models.TextChoices):
    CONSTANT = "constant", "Nearly constant"
    SEVERAL_DAILY = "several_daily", "Several times a day"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    OCCASIONAL = "occasional", "Occasional"


class Diagnosis(models.TextChoices):
    HFS_PRIMARY = "hfs_primary", "Hemifacial spasm, primary (neurovascular)"
    HFS_SECONDARY = "hfs_secondary", "Hemifacial spasm, secondary"
    HEMIFACIAL_SEIZURES = "hemifacial_seizures", "Hemifacial seizures"
    TIC = "tic", "Tic"
    BLEPHAROSPASM = "blepharospasm", "Blepharospasm"
    MYOKYMIA = "myokymia", "Facial myokymia"
    POST_PARALYTIC_SYNKINESIS = "post_paralytic_synkinesis", "Post-paralytic synkinesis"
    FUNCTIONAL = "functional", "Functional"
    HEMIMASTICATORY_SPASM = "hemimasticatory_spasm", "Hemimasticatory spasm"
    OTHER = "other", "Other"


class SeverityScale(models.TextChoices):
    SMC = "smc", "Samsung Medical Center grading (0–4)"
    JANKOVIC = "jankovic", "Jankovic rating scale (0–8)"
    COHEN_ALBERT = "cohen_albert", "Cohen–Albert (0–4)"


SEVERITY_MAX = {SeverityScale.SMC: 4, SeverityScale.JANKOVIC: 8, SeverityScale.COHEN_ALBERT: 4}


class ConsultRecommendation(models.TextChoices):
    MVD_CANDIDATE = "mvd_candidate", "Candidate for microvascular decompression"
    LESION_SURGERY = "lesion_surgery", "Lesion surgery"
    CYST_SURGERY = "cyst_surgery", "Cyst surgery"
    OBSERVE = "observe", "Observe"
    NOT_A_CANDIDATE = "not_a_candidate", "Not a surgical candidate"


class Plan(models.TextChoices):
    OBSERVATION = "observation", "Observation"
    BOTULINUM_TOXIN = "botulinum_toxin", "Botulinum toxin"
    MEDICATION = "medication", "Medication"
    SURGERY_PLANNED = "surgery_planned", "Surgery planned"
    DISCHARGE = "discharge", "Discharge to referrer"
    OTHER = "other", "Other"


class Sex(models.TextChoices):
    """FHIR administrative gender."""

    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class ContactPreference(models.TextChoices):
    SMS = "sms", "Text message"
    EMAIL = "email", "E-mail"
    BOTH = "both", "Text message and e-mail"
    NONE = "none", "Do not contact"
