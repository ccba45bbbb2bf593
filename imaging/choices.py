"""Codes of the imaging pathway (docs/design.md §3)."""

from django.db import models


class MRIState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PROTOCOLED = "protocoled", "Protocoled"
    SCHEDULED = "scheduled", "Scheduled"
    NEEDS_REBOOKING = "needs_rebooking", "Needs rebooking"
    PERFORMED = "performed", "Performed"
    REPORTED = "reported", "Reported"
    CANCELLED = "cancelled", "Cancelled"


OPEN_MRI_STATES = ("requested", "protocoled", "scheduled", "needs_rebooking", "performed")


class Protocol(models.TextChoices):
    CPA_T2_TOF = "cpa_t2_tof", "CPA: 3D heavily T2-weighted (CISS/FIESTA/SPACE) + 3D TOF MRA"
    CPA_T2_TOF_GD = "cpa_t2_tof_gd", "CPA: T2 + TOF + post-contrast T1 (lesion suspected)"
    BRAIN_ROUTINE_PLUS_CPA = "brain_routine_plus_cpa", "Routine brain + CPA sequences"


class Sedation(models.TextChoices):
    NONE = "none", "None (awake)"
    FEED_AND_WRAP = "feed_and_wrap", "Feed and wrap"
    CHILD_LIFE_AWAKE = "child_life_awake", "Awake with play-specialist preparation"
    NURSE_SEDATION = "nurse_sedation", "Nurse-led sedation"
    GENERAL_ANAESTHESIA = "general_anaesthesia", "General anaesthesia"


# Sedation plans that need the child to fast beforehand.
FASTING_SEDATION = frozenset({Sedation.NURSE_SEDATION, Sedation.GENERAL_ANAESTHESIA})


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    RESCHEDULED = "rescheduled", "Rescheduled"
    ATTENDED = "attended", "Scan performed"
    WAS_NOT_BROUGHT = "was_not_brought", "Was not brought"
    MISSED = "missed", "Missed (nothing recorded)"
    SCAN_FAILED = "scan_failed", "Scan failed"
    CANCELLED = "cancelled", "Cancelled"


class ScanOutcome(models.TextChoices):
    MOTION_LIMITED = "motion_limited", "Motion-limited, not diagnostic"
    ABORTED = "aborted", "Aborted"


class ReportCategory(models.TextChoices):
    CRITICAL = "critical", "Critical"
    URGENT = "urgent", "Urgent"
    SIGNIFICANT_UNEXPECTED = "significant_unexpected", "Significant unexpected"
    ROUTINE = "routine", "Routine"


# Results neurology must acknowledge: they alert at signing and open an acknowledgement step.
ALERT_CATEGORIES = frozenset({ReportCategory.CRITICAL, ReportCategory.URGENT})
# Least to most severe: an amendment that raises an alert category needs a new acknowledgement.
SEVERITY_ORDER = (
    ReportCategory.ROUTINE,
    ReportCategory.SIGNIFICANT_UNEXPECTED,
    ReportCategory.URGENT,
    ReportCategory.CRITICAL,
)


class Side(models.TextChoices):
    """The side of the face: of a compression in a report and of the twitching in a referral
    (referrals import it from here: imaging never imports referrals)."""

    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BILATERAL = "bilateral", "Bilateral"


class NVCStatus(models.TextChoices):
    PRESENT = "present", "Present"
    ABSENT = "absent", "Absent"
    INDETERMINATE = "indeterminate", "Indeterminate"


class Vessel(models.TextChoices):
    AICA = "aica", "AICA"
    PICA = "pica", "PICA"
    VERTEBRAL = "vertebral", "Vertebral artery"
    VEIN = "vein", "Vein"
    COMBINED = "combined", "Combined"
    OTHER = "other", "Other"


class NerveSegment(models.TextChoices):
    ROOT_EXIT_POINT = "root_exit_point", "Root exit point"
    ATTACHED_SEGMENT = "attached_segment", "Attached segment"
    ROOT_DETACHMENT_POINT = "root_detachment_point", "Root detachment point"
    CISTERNAL = "cisternal", "Cisternal segment"


class CompressionSeverity(models.TextChoices):
    CONTACT = "contact", "Contact"
    INDENTATION = "indentation", "Indentation"
    DEVIATION = "deviation", "Deviation"


class LesionLocation(models.TextChoices):
    CPA = "cpa", "Cerebellopontine angle"
    POSTERIOR_FOSSA = "posterior_fossa", "Posterior fossa"
    FOURTH_VENTRICLE = "fourth_ventricle", "Fourth ventricle"
    OTHER = "other", "Other"
