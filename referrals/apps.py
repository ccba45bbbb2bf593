from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals (the pathway case)"

    def ready(self):
        from carepath.models import TimerKind
        from carepath.notify import effects
        from carepath.pathway import registry

        from . import receivers, reopen, services, tasks  # noqa: F401  (reacts to what imaging announces)
        from .followup import services as followup_services
        from .followup.steps import MDT_AND_FOLLOW_UP_STEPS
        from .machine import REFERRAL_MACHINE
        from .models import PatientShare, Referral
        from .search import may_search

        REFERRAL_MACHINE.require_services()  # services bind themselves on import (`@machine.service`)

        effects.register_transition(TimerKind.AUTO_CLOSE, tasks.auto_close)
        effects.register_transition(TimerKind.FOLLOW_UP_MISSED, followup_services.missed_by_timer)
        registry.register_steps(MDT_AND_FOLLOW_UP_STEPS)
        registry.register_steps(services.STEPS)
        registry.register_search(may_search)
        registry.register_models(case=Referral, patient_share=PatientShare)
        registry.register_denied_records(
            {
                "case": ("referrals.Referral", "patient_id"),
                "api-referral": ("referrals.Referral", "patient_id"),
                "api-patient": ("referrals.Patient", "pk"),
                # a case's files and upload links name the case by `pk` (referrals/attachments/)
                **dict.fromkeys(
                    ["attachment_add", "attachment_file", "attachment_poster", "upload_link_new"],
                    ("referrals.Referral", "patient_id"),
                ),
                "api-attachment": ("referrals.Referral", "patient_id"),
                "api-upload-link": ("referrals.Referral", "patient_id"),
            }
        )
