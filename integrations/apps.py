from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (webhooks, FHIR, HL7 v2)"

    def ready(self):
        from carepath.pathway import registry
        from integrations import events
        from integrations.outbox import tasks
        from integrations.webhooks import admin as webhooks_admin  # noqa: F401  (endpoints, deliveries)
        from integrations.webhooks import fanout, receiver

        # the outbox: every transition and notification becomes an event in its own transaction
        registry.register_announcer(events.announced)
        events.register_sender(tasks.send_events)
        events.register_consumer(fanout.deliveries_for)
        receiver.install()
