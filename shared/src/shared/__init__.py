"""The library every kurator-py component shares.

Layers, bottom to top (kept honest by import-linter, see the root pyproject):

* ``shared.contracts``: wire models, the routing table, subject builders, CloudEvents envelope.
  Pure code: no I/O imports.
* ``shared.errors``: the typed errors handlers raise; their retry meaning is mapped to
  JetStream acks in exactly one place (``shared.bus.consumer``).
* ``shared.bus``: everything that talks to NATS.
* ``shared.runtime``: settings, logging, telemetry, metrics, health, service lifecycle.
* ``shared.testing``: fixtures and helpers for tests (a real ``nats-server`` per session).
"""
