"""The apps service. Owns Istio and Volcano: federated applications and their companions, traffic rules,
gang-scheduled batch jobs.

Consumes ``kurator.intent.apps.>``, keeps the accepted desired state in the ``kurator_apps``
KV bucket and publishes ``kurator.status.apps.>``. Imports only ``shared``, never another service.
"""
