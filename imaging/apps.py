from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    verbose_name = "Imaging (MRI requests and reports)"

    def ready(self):
        from carepath import effects
        from carepath.models import TimerKind

        from . import receivers, tasks  # noqa: F401  (receivers: notifications on report events)

        effects.register_transition(TimerKind.FLAG_MISSED, tasks.flag_missed)
