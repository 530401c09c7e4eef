"""One cluster's API as the HTTP layer sees it: its store, its registry and what is derived
from them once (discovery documents, the ``/version`` answer).

The host (the Karmada API server) and every member (served behind the cluster proxy) each get
one :class:`ClusterApi`; handlers receive it and never reach into the fleet themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from kurator_sim.api.defaults import IpAllocator
from kurator_sim.api.discovery import Discovery
from kurator_sim.clock import SimClock
from kurator_sim.resources import Registry
from kurator_sim.store.objects import ObjectStore

SIM_SUFFIX = "+kurator-sim"
"""Marks the simulator in ``gitVersion``; build metadata, so semver comparisons ignore it."""


def version_info(kubernetes_version: str) -> dict[str, Any]:
    m = re.match(r"v?(\d+)\.(\d+)", kubernetes_version)
    major, minor = (m.group(1), m.group(2)) if m else ("1", "29")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"{kubernetes_version}{SIM_SUFFIX}",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-03-15T00:00:00Z",
        "goVersion": "go1.21.8",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


@dataclass
class ClusterApi:
    name: str
    store: ObjectStore
    registry: Registry
    clock: SimClock
    kubernetes_version: str
    validate: bool
    """Whether custom resources are validated against their schemas (CRD files were given)."""
    discovery: Discovery = field(init=False)
    version_body: bytes = field(init=False)
    cache: dict[str, Any] = field(default_factory=dict)
    """Derived documents computed on first use (OpenAPI)."""
    allocate_ip: IpAllocator = field(default_factory=IpAllocator)
    """Cluster IPs for new Services."""

    def __post_init__(self) -> None:
        self.discovery = Discovery(self.registry)
        self.version_body = orjson.dumps(version_info(self.kubernetes_version))
