"""Everything that talks to NATS: connection, stream declarations, publishing, the consume
loop (with the one place typed errors become acks), the desired-state KV store, status
readers and request/reply query endpoints.

Import modules, not names: ``from shared.bus import consumer, publisher``.
"""
