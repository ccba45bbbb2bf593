from django.apps import AppConfig


class CarepathConfig(AppConfig):
    name = "carepath"
    verbose_name = "CarePath (work items, timeline, audit)"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy checks)
