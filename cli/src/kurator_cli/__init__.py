"""The ``kurator`` command line: run the system (``up``), publish intents (``apply``,
``delete``) and read status (``get``, ``watch``).

It talks to services only through NATS subjects built by ``shared.contracts``; it starts
services as processes and never imports them.
"""
