import gc

from django.apps import AppConfig
from django.conf import settings


class CarepathConfig(AppConfig):
    name = "carepath"
    verbose_name = "CarePath (work items, timeline, audit)"

    def ready(self):
        from django.contrib.auth.signals import user_login_failed
        from django.db.backends.signals import connection_created

        from carepath.db import pg_loaders
        from carepath.pathway import audit
        from carepath.timers import admin as admin_timers  # noqa: F401  (timer/SLA admin)
        from carepath.timers import tasks  # noqa: F401  (registers the task senders in carepath.timers.queue)
        from carepath.web import wording

        from . import checks  # noqa: F401  (the deploy checks)

        wording.install()  # plain validation messages for the web forms and the API alike

        connection_created.connect(pg_loaders.install, dispatch_uid="carepath.db.pg_loaders")
        # every failed sign-in, web, admin or API token, is an audit row (docs/security.md)
        user_login_failed.connect(audit.sign_in_failed, dispatch_uid="carepath.pathway.audit.sign_in_failed")

        tune_garbage_collector(settings.CAREPATH_GC_THRESHOLD)


def tune_garbage_collector(threshold: int) -> None:
    """Fewer pauses for the cyclic collector in every CarePath process (web, worker, beat, commands).

    What start-up loaded (modules, models, URL patterns, the machines) lives as long as the process:
    `gc.freeze()` keeps later collections from scanning it again. Most request objects die by reference
    counting, so collecting the youngest generation every `threshold` new objects instead of every 700
    costs little memory and removes most of the ~2.5 ms pauses from the API's tail latency
    (docs/decisions.md, "Garbage collection")."""
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(threshold, *gc.get_threshold()[1:])
