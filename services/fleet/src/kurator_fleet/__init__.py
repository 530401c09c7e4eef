"""The fleet service. Owns Karmada: member clusters, fleets, propagation policies and the
workload templates they select.

Consumes ``kurator.intent.fleet.>``, keeps the accepted desired state in the ``kurator_fleet``
KV bucket and publishes ``kurator.status.fleet.>``. Imports only ``shared``, never another service.
"""
