"""Test helpers: a real ``nats-server`` per test session, polling with a deadline, and
in-process service replicas. Registered as a pytest plugin by the root ``conftest.py``.
"""
