"""Contract: every Istio object the traffic area writes validates against Istio's own CRDs.

The reconciler runs against the simulator (which validates writes with ``../shared/crds``
too) through a recording adapter; every body it applies is then checked with
``fieldValidation=Strict`` against ``../shared/crds/istio/crd-all.gen.yaml``: unknown fields
are errors, so a wrong JSON name cannot be pruned away silently.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, cast

import pytest

from kurator_apps.adapters.mesh import MeshClusters
from kurator_apps.traffic import derive, feeds, locality, reconciler
from kurator_sim import app, testing, topology
from kurator_sim.settings import SimSettings
from shared.contracts.models import istio
from shared.k8s import connection, resources

pytestmark = pytest.mark.skipif(not testing.SHARED_CRDS.is_dir(), reason="../shared/crds is not present")

Obj = dict[str, Any]


class Recording(MeshClusters):
    def __init__(self, api: connection.ApiClient) -> None:
        super().__init__(api)
        self.applied: list[Obj] = []

    async def apply(self, cluster: str, obj: Mapping[str, Any]) -> resources.RawObject:
        self.applied.append(copy.deepcopy(dict(obj)))
        return await super().apply(cluster, obj)


class NoRecords:
    """The desired-state store as the reconciler sees it when nothing else was accepted."""

    async def items(self) -> AsyncIterator[tuple[str, Any]]:
        for _ in ():
            yield "", None


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Recording]:
    kubeconfig = tmp_path / "kubeconfig"
    async with app.running(SimSettings(port=0, time_scale=20.0, kubeconfig=kubeconfig, crds=testing.SHARED_CRDS)):
        api = await connection.api_client(kubeconfig)
        recording = Recording(api)
        try:
            yield recording
        finally:
            await recording.close()
            await api.close()


def _traffic(mesh: MeshClusters) -> reconciler.Traffic:
    fleet, rules = feeds.FleetView(cast(Any, None)), feeds.UserRules(cast(Any, None))
    for cluster in topology.load().clusters:
        fleet.update({"metadata": {"name": cluster.name}, "status": {"ready": True, "labels": dict(cluster.labels)}})
    fleet.synced.set()
    return reconciler.Traffic(
        mesh=mesh, fleet=fleet, rules=rules, publisher=cast(Any, None), desired=cast(Any, NoRecords())
    )


def _everything(seed_vs: Obj) -> tuple[list[Obj], list[Obj]]:
    """VirtualServices (with derived rules, locality failover, tcp/tls, mirrors) and user rules."""
    seed = copy.deepcopy(seed_vs)
    seed["metadata"]["namespace"] = "default"
    failover = copy.deepcopy(seed)
    failover["metadata"]["name"] = "user-service-failover"
    failover["metadata"]["annotations"] = {
        locality.LOCALITY_ANNOTATION: "failover:north-china=east-china,east-china=south-china"
    }
    distribute = copy.deepcopy(seed)
    distribute["metadata"]["name"] = "user-service-distribute"
    distribute["metadata"]["annotations"] = {
        locality.LOCALITY_ANNOTATION: json.dumps(
            {"distribute": [{"from": "north-china/*", "to": {"north-china/*": 80, "east-china/*": 20}}]}
        ),
        locality.OUTLIER_ANNOTATION: json.dumps({"consecutive5xxErrors": 3, "interval": "5s"}),
    }
    mixed: Obj = {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "payments", "namespace": "shop", "labels": {"team": "pay"}},
        "spec": {
            "hosts": ["payments.shop.svc.cluster.local"],
            "gateways": ["mesh"],
            "http": [
                {
                    "name": "canary",
                    "match": [{"headers": {"x-canary": {"exact": "1"}}}],
                    "route": [{"destination": {"host": "payments", "subset": "shanghai", "port": {"number": 8080}}}],
                    "mirror": {"host": "audit", "subset": "beijing"},
                    "timeout": "2s",
                    "retries": {"attempts": 3, "perTryTimeout": "500ms"},
                },
                {
                    "route": [
                        {"destination": {"host": "payments", "subset": "beijing"}, "weight": 3},
                        {"destination": {"host": "payments", "subset": "guangzhou"}, "weight": 1},
                    ]
                },
            ],
            "tcp": [{"route": [{"destination": {"host": "ledger", "subset": "hangzhou", "port": {"number": 5432}}}]}],
        },
    }
    checked = copy.deepcopy(seed)
    checked["metadata"]["name"] = "user-service-checked"
    checked["metadata"]["namespace"] = "checked"
    rule: Obj = {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "DestinationRule",
        "metadata": {"name": "user-service", "namespace": "checked"},
        "spec": {
            "host": "user-service",
            "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100}}},
            "subsets": [
                {"name": n, "labels": {derive.CLUSTER_LABEL: f"cluster-{n}", "version": "v1"}}
                for n in ("beijing", "shanghai", "guangzhou")
            ],
        },
    }
    return [seed, failover, distribute, mixed, checked], [rule]


async def test_everything_written_validates_against_the_istio_crds(
    mesh: Recording, seed_vs: Obj, crd_causes: Callable[[Obj], list[str]]
) -> None:
    traffic = _traffic(mesh)
    services, rules = _everything(seed_vs)
    for rule in rules:
        await traffic.apply_destination_rule(istio.DestinationRule.model_validate(rule), 1)
    for vs in services:
        await traffic.apply_virtual_service(istio.VirtualService.model_validate(vs), 1)

    written: dict[str, int] = {}
    for body in mesh.applied:
        assert crd_causes(body) == [], f"{body['kind']} {body['metadata']['name']}: {crd_causes(body)}"
        written[body["kind"]] = written.get(body["kind"], 0) + 1
    # 5 VirtualServices; derived rules: 3 seed-like + payments, audit, ledger; 1 user rule.
    assert written == {"VirtualService": 5, "DestinationRule": 7}
    policies = [b["spec"].get("trafficPolicy") for b in mesh.applied if b["kind"] == "DestinationRule"]
    assert sum(1 for p in policies if p and "outlierDetection" in p) == 2
