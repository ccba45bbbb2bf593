from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (webhooks, FHIR, HL7 v2)"

    def ready(self):
        from carepath.pathway import registry
        from integrations import events
        from integrations.outbox import relay, tasks
        from integrations.subscriptions import admin as subscriptions_admin  # noqa: F401  (read-only list)
        from integrations.subscriptions import fanout as subscriptions_fanout
        from integrations.subscriptions import receiver as subscriptions_receiver
        from integrations.webhooks import admin as webhooks_admin  # noqa: F401  (endpoints, deliveries)
        from integrations.webhooks import fanout, receiver

        # the outbox: every transition and notification becomes an event in its own transaction
        registry.register_announcer(events.announced)
        events.register_sender(tasks.send_events)
        events.register_relay(relay.relay_all)  # tests' eager pass; production runs `outbox_relay`
        events.register_consumer(fanout.CONSUMER)
        events.register_consumer(subscriptions_fanout.CONSUMER)
        receiver.install()
        subscriptions_receiver.install()
        # HL7: the order to the RIS, written in the transaction that requests the MRI
        from imaging import signals

        from .hl7 import receivers  # and with it the Celery tasks (integrations/hl7/tasks.py)

        signals.mri_requested.connect(receivers.on_mri_requested, dispatch_uid="hl7_order_to_ris")
