from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals (the pathway case)"

    def ready(self):
        from carepath.models import TimerKind
        from carepath.notify import effects

        from . import receivers, services, tasks  # noqa: F401  (reacts to what imaging announces)
        from .machine import REFERRAL_MACHINE

        REFERRAL_MACHINE.require_services()  # services bind themselves on import (`@machine.service`)

        effects.register_transition(TimerKind.AUTO_CLOSE, tasks.auto_close)
