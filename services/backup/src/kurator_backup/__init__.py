"""The backup service. Owns Velero: backup policies, backups, restores and migrations.

Consumes ``kurator.intent.backup.>``, keeps the accepted desired state in the ``kurator_backup``
KV bucket and publishes ``kurator.status.backup.>``. Imports only ``shared``, never another service.
"""
