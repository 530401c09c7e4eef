"""This area's part of the apps service (see :mod:`kurator_apps.extensions`)."""

from __future__ import annotations

from shared.runtime.extensions import Extensions, ServiceContext


def build(context: ServiceContext) -> Extensions:
    """Nothing wired yet: the runtime records the desired state and answers ``Accepted``."""
    return Extensions()
