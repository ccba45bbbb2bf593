from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    verbose_name = "Imaging (MRI requests and reports)"

    def ready(self):
        from carepath.models import TimerKind, WorkItemKind
        from carepath.notify import effects, inbox
        from carepath.pathway import registry

        from . import receivers, reports, services, tasks  # noqa: F401  (receivers: notifications on report events)
        from .capacity import booking
        from .choices import OPEN_MRI_STATES
        from .machine import MRI_MACHINE

        MRI_MACHINE.require_services()  # services bind themselves on import (`@machine.service`)

        effects.register_transition(TimerKind.FLAG_MISSED, tasks.flag_missed)
        effects.register_transition(TimerKind.RELEASE_HOLD, booking.release_lapsed_hold)
        inbox.register_on_read(WorkItemKind.CRITICAL_RESULT_ACK, reports.acknowledge_result_of_item)
        registry.register_steps(services.STEPS)
        registry.register_open_mri_states(OPEN_MRI_STATES)
        registry.register_denied_records(
            {
                "reading": ("imaging.MRIRequest", "referral__patient_id"),
                "api-mri-request": ("imaging.MRIRequest", "referral__patient_id"),
                "api-report": ("imaging.NeuroradiologyReport", "mri_request__referral__patient_id"),
            }
        )
