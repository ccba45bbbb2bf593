from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "carepath.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models import signals

        from . import schema  # noqa: F401 - registers the bearer scheme with drf-spectacular
        from .models import ApiToken
        from .tokens import RECENT, revoke_on_credential_change

        # what a cached token row holds (carepath/api/tokens.py, RecentTokens)
        user = get_user_model()
        for model in (ApiToken, user):
            signals.post_save.connect(RECENT.changed, sender=model, dispatch_uid=f"recent-tokens-{model.__name__}")
            signals.post_delete.connect(RECENT.changed, sender=model, dispatch_uid=f"recent-tokens-d-{model.__name__}")
        signals.m2m_changed.connect(RECENT.changed, sender=user.groups.through, dispatch_uid="recent-tokens-groups")
        # a new password or a deactivation ends the user's tokens (carepath/api/tokens.py)
        signals.post_save.connect(revoke_on_credential_change, sender=user, dispatch_uid="tokens-credential-change")
