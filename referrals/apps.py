from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals (the pathway case)"

    def ready(self):
        from carepath.models import TimerKind
        from carepath.notify import effects

        from . import receivers, tasks  # noqa: F401  (reacts to what imaging announces)

        effects.register_transition(TimerKind.AUTO_CLOSE, tasks.auto_close)
