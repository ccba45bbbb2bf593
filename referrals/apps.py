from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals (the pathway case)"

    def ready(self):
        from . import receivers  # noqa: F401  (reacts to what imaging announces)
