"""The observability service. Owns Prometheus Operator and Thanos: Prometheus instances,
scrape targets and rules, fleet-wide queries.

Consumes ``kurator.intent.observability.>``, keeps the accepted desired state in the ``kurator_observability``
KV bucket and publishes ``kurator.status.observability.>``. Imports only ``shared``, never another service.
"""
