"""Wire contracts: models, the routing table, subject builders, the CloudEvents envelope.

Pure code, no I/O. Import modules, not names: ``from shared.contracts import subjects``.
"""
