"""Contract: every object the fleet service writes validates against the real Karmada CRDs.

The handlers run against the simulator through a recording adapter; each body written to a
kind that ``../shared/crds/karmada`` defines is validated with the simulator's schema machinery
in strict mode (unknown fields are errors, as ``fieldValidation=Strict`` makes them), so a
wrong JSON name cannot be pruned away silently. Kinds outside those CRDs (``Cluster`` is an
aggregated API, templates are built-in kinds) are checked by the simulator's own validation
when they are written.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from kurator_fleet import handlers, ports
from kurator_fleet.adapters import karmada as karmada_adapter
from kurator_sim import testing
from kurator_sim.machinery import crds, schema
from shared.contracts import kinds
from shared.k8s import objects, resources

KARMADA_CRDS = testing.SHARED_CRDS / "karmada"

pytestmark = pytest.mark.skipif(not KARMADA_CRDS.is_dir(), reason="../shared/crds/karmada is not present")


@cache
def _schemas() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for crd in crds.load_crds(KARMADA_CRDS):
        for version in crd.served_versions:
            if version.schema is not None:
                found[(f"{crd.group}/{version.name}", crd.kind)] = version.schema
    return found


class Recording:
    """The real adapter, remembering every body applied."""

    def __init__(self, inner: ports.Karmada) -> None:
        self.inner = inner
        self.applied: list[dict[str, Any]] = []

    async def apply(self, obj: Mapping[str, Any], *, field_manager: str | None = None) -> ports.RawObject:
        self.applied.append(dict(obj))
        return await self.inner.apply(obj, field_manager=field_manager)

    async def find(self, ref: ports.ObjectRef) -> ports.RawObject | None:
        return await self.inner.find(ref)

    async def delete(self, ref: ports.ObjectRef) -> bool:
        return await self.inner.delete(ref)

    async def is_namespaced(self, *, api_version: str, kind: str) -> bool:
        return await self.inner.is_namespaced(api_version=api_version, kind=kind)

    async def read_secret(self, *, namespace: str, name: str) -> dict[str, bytes] | None:
        return await self.inner.read_secret(namespace=namespace, name=name)

    async def clusters(self, *, label_selector: str) -> list[ports.RawObject]:
        return await self.inner.clusters(label_selector=label_selector)


def _intents(kit: Any) -> list[dict[str, Any]]:
    placement = {
        "clusterAffinities": [
            {"affinityName": "primary", "clusterNames": ["cluster-beijing"]},
            {"affinityName": "backup", "labelSelector": {"matchLabels": {"environment": "production"}}},
        ],
        "clusterTolerations": [
            {
                "key": "cluster.karmada.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 60,
            }
        ],
        "spreadConstraints": [{"spreadByField": "cluster", "maxGroups": 2, "minGroups": 1}],
        "replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"},
    }
    override = {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}],
        "overrideRules": [
            {
                "targetCluster": {"clusterNames": ["cluster-beijing"]},
                "overriders": {
                    "imageOverrider": [{"component": "Registry", "operator": "replace", "value": "reg.example.com"}],
                    "labelsOverrider": [{"operator": "add", "value": {"topology": "north"}}],
                    "plaintext": [{"path": "/spec/replicas", "operator": "replace", "value": 3}],
                },
            }
        ],
    }
    return [
        kit.example("01-propagationpolicy-nginx.yaml"),
        kit.example("02-clusterpropagationpolicy-frontend.yaml"),
        kit.example("09-deployment-kurator-controller-manager.yaml"),
        {
            "apiVersion": "policy.karmada.io/v1alpha1",
            "kind": "OverridePolicy",
            "metadata": {"name": "nginx", "namespace": "default"},
            "spec": override,
        },
        {
            "apiVersion": "policy.karmada.io/v1alpha1",
            "kind": "ClusterOverridePolicy",
            "metadata": {"name": "nginx"},
            "spec": override,
        },
        {
            "apiVersion": "fleet.kurator.dev/v1alpha1",
            "kind": "Propagation",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "owner": {"service": "apps", "kind": "FederatedDeployment", "namespace": "shop", "name": "web"},
                "templates": [
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-tools"}},
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}, "data": {"a": "b"}},
                ],
                "placement": placement,
                "propagateDeps": True,
                "conflictResolution": "Overwrite",
            },
        },
        {
            "apiVersion": "fleet.kurator.dev/v1alpha1",
            "kind": "Propagation",
            "metadata": {"name": "frontend", "namespace": "shop"},
            "spec": {
                "owner": {"service": "apps", "kind": "Application", "name": "frontend"},
                "templates": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frontend"}}],
                "placement": kit.example("02-clusterpropagationpolicy-frontend.yaml")["spec"]["placement"],
            },
        },
        {
            "apiVersion": "cluster.karmada.io/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "cluster-beijing", "labels": {"environment": "production"}},
            "spec": {"syncMode": "Push", "region": "north-china", "zones": ["a"], "provider": "huaweicloud"},
        },
        {
            "apiVersion": "fleet.kurator.dev/v1alpha1",
            "kind": "Fleet",
            "metadata": {"name": "quickstart", "namespace": "default"},
            "spec": {"clusters": [{"name": "cluster-beijing"}, {"name": "dev", "kind": "AttachedCluster"}]},
        },
        {
            "apiVersion": "cluster.kurator.dev/v1alpha1",
            "kind": "AttachedCluster",
            "metadata": {"name": "dev", "namespace": "default"},
            "spec": {"kubeconfig": {"name": "dev-kubeconfig"}},
        },
    ]


async def test_everything_written_validates_against_the_karmada_crds(
    kube: Any, read: objects.Objects, desired: Any, tmp_path: Path, kit: Any
) -> None:
    kubeconfig = yaml.safe_dump(
        {
            "clusters": [
                {"name": "c", "cluster": {"server": "https://dev.example.com", "insecure-skip-tls-verify": True}}
            ],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "current-context": "c",
        }
    )
    secret = {
        "metadata": {"name": "dev-kubeconfig", "namespace": "default"},
        "data": {"value": base64.b64encode(kubeconfig.encode()).decode()},
    }
    await read.apply(resources.SECRETS, secret)
    recording = Recording(karmada_adapter.KarmadaApi(kube))
    built = handlers.for_karmada(recording, desired=desired)
    for doc in _intents(kit):
        token = kinds.for_object(doc["apiVersion"], doc["kind"]).token
        await built[token].on_apply(kit.model(doc), kit.record(doc))

    checked = set()
    for body in recording.applied:
        key = (body["apiVersion"], body["kind"])
        found = _schemas().get(key)
        if found is None:
            continue
        _, causes, _ = schema.validate_write(
            body, found, strict=True, api_version=body["apiVersion"], kind=body["kind"]
        )
        assert causes == [], f"{body['kind']} {body['metadata']['name']}: {causes}"
        checked.add(body["kind"])
    assert checked == {"PropagationPolicy", "ClusterPropagationPolicy", "OverridePolicy", "ClusterOverridePolicy"}
    written_kinds = {b["kind"] for b in recording.applied}
    assert {"Cluster", "Secret", "Deployment", "Namespace", "ConfigMap"} <= written_kinds
