"""The Celery app. Tasks are thin wrappers around services (docs/architecture.md); configuration is in settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carepath.settings")

app = Celery("carepath")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The timer and delivery tasks live in carepath/timers/tasks.py, not in a top-level `tasks` module.
app.autodiscover_tasks(["carepath.timers"])
