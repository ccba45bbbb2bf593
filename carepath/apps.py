from django.apps import AppConfig


class CarepathConfig(AppConfig):
    name = "carepath"
    verbose_name = "CarePath (work items, timeline, audit)"

    def ready(self):
        from . import admin_timers, checks  # noqa: F401  (timer/SLA admin; the deploy checks)
