"""Deploy checks of our own: `manage.py check --deploy` fails on settings unsafe for production."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def production_settings(app_configs, **kwargs):
    errors = []
    if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the development default.", hint="Set SECRET_KEY in the environment.", id="carepath.E001"
            )
        )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        errors.append(Error("Production needs PostgreSQL, not SQLite.", hint="Set DATABASE_URL.", id="carepath.E002"))
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        errors.append(Error("Production needs a Redis broker.", hint="Set CELERY_BROKER_URL.", id="carepath.E003"))
    if settings.EMAIL_TIMEOUT is None or settings.EMAIL_TIMEOUT * 2 >= settings.CAREPATH_DELIVERY_LEASE_SECONDS:
        errors.append(
            Error(
                "EMAIL_TIMEOUT must be under half of CAREPATH_DELIVERY_LEASE_SECONDS.",
                hint="A slow send could otherwise be taken over by a second sender.",
                id="carepath.E004",
            )
        )
    return errors
