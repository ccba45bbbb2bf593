"""The side steps of MDT decisions and follow-up visits, by queue (the worklist's step filter,
carepath/pathway/registry.py). A neurosurgery follow-up or surgery step may also sit in the
neurosurgeon's queue; the filter names each kind once, under the role that usually holds it."""

from carepath.models import WorkItemKind as K
from carepath.pathway.roles import Role

MDT_AND_FOLLOW_UP_STEPS = {
    "mdt_repeat_mri": (K.MDT_REPEAT_MRI, Role.NEUROLOGIST),
    "mdt_treatment": (K.MDT_TREATMENT, Role.NEUROLOGIST),
    "mdt_surgery": (K.MDT_SURGERY, Role.NEUROSURGEON),
    "mdt_action": (K.MDT_ACTION, Role.NEUROLOGIST),
    "follow_up_visit": (K.FOLLOW_UP_VISIT, Role.NEUROLOGIST),
}
