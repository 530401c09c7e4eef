"""Fixtures for traffic tests: the example fleet's clusters as the mesh sees them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kurator_apps.traffic.mesh import MemberCluster

VS_FILE = "05-virtualservice-user-service.yaml"


@pytest.fixture
def fleet() -> list[MemberCluster]:
    """The simulator's example fleet, every cluster ready."""
    from kurator_sim import topology

    return [MemberCluster(c.name, dict(c.labels), ready=True) for c in topology.load().clusters]


@pytest.fixture
def seed_vs(example: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return example(VS_FILE)
