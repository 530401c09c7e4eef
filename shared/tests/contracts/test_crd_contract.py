"""What the models accept and forward also passes the upstream CRD schemas (``../shared/crds``).

The schemas are made strict (unknown fields rejected where the CRD lists properties and does
not preserve unknown fields), so a wrong JSON name in a model (``nodeId`` for ``nodeID``) fails
here instead of being silently pruned by the apiserver.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from shared.contracts import kinds
from shared.contracts.models import karmada

CRDS = Path(__file__).parents[4] / "shared" / "crds"
EXAMPLES = Path(__file__).parents[3] / "examples"

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are large; libyaml is 10x faster

pytestmark = pytest.mark.skipif(not CRDS.is_dir(), reason="../shared/crds is not present")


@cache
def _crds() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in CRDS.glob("*/*.yaml"):
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                found[(doc["spec"]["group"], doc["spec"]["names"]["kind"])] = doc
    return found


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        pattern = out.get("pattern")
        if isinstance(pattern, str) and "(?i)" in pattern:
            # Go allows a flag group after '^'; Python wants it first.
            out["pattern"] = "(?i)" + pattern.replace("(?i)", "")
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def _validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    # Built once per kind: jsonschema.validate would re-check the large schema on every call.
    return jsonschema.Draft7Validator(_schema(api_version, kind))


def _schema(api_version: str, kind: str) -> dict[str, Any]:
    group, version = kinds.split_api_version(api_version)
    crd = _crds()[(group, kind)]
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    schema: dict[str, Any] = copy.deepcopy(served["schema"]["openAPIV3Schema"])
    # Only the spec is ours; some CRDs (Istio) do not describe apiVersion/kind/metadata.
    schema["properties"]["spec"] = _strict(schema["properties"]["spec"])
    return schema


def _check(doc: dict[str, Any]) -> None:
    info = kinds.for_object(doc["apiVersion"], doc["kind"])
    wire = info.model.model_validate(doc).to_wire()
    _validator(doc["apiVersion"], doc["kind"]).validate(wire)


UPSTREAM_SEED_FILES = [
    "01-propagationpolicy-nginx.yaml",
    "04-volcano-job-tensorflow.yaml",
    "05-virtualservice-user-service.yaml",
    "08-prometheus.yaml",
]


@pytest.mark.parametrize("name", UPSTREAM_SEED_FILES)
def test_seed_upstream_kinds_pass_their_crd(name: str) -> None:
    for doc in yaml.safe_load_all((EXAMPLES / name).read_text(encoding="utf-8")):
        _check(doc)


def test_seed_shorthand_fails_the_crd_but_its_native_form_passes() -> None:
    doc = yaml.safe_load((EXAMPLES / "02-clusterpropagationpolicy-frontend.yaml").read_text(encoding="utf-8"))
    validator = _validator(doc["apiVersion"], doc["kind"])
    policy = karmada.ClusterPropagationPolicy.model_validate(doc)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(policy.to_wire())
    native = policy.native().to_wire()
    validator.validate(native)


OTHER_DOCUMENTS: list[dict[str, Any]] = [
    {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "OverridePolicy",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "overrideRules": [
                {
                    "targetCluster": {"clusterNames": ["member2"]},
                    "overriders": {
                        "imageOverrider": [
                            {"component": "Registry", "operator": "replace", "value": "reg.example.com"}
                        ],
                        "plaintext": [{"path": "/spec/replicas", "operator": "replace", "value": 3}],
                        "fieldOverrider": [{"fieldPath": "/data/a", "json": [{"subPath": "/b", "operator": "remove"}]}],
                    },
                }
            ],
        },
    },
    {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "propagateDeps": True,
            "failover": {
                "application": {
                    "purgeMode": "Gracefully",
                    "gracePeriodSeconds": 60,
                    "decisionConditions": {"tolerationSeconds": 120},
                }
            },
            "placement": {
                "clusterAffinities": [
                    {"affinityName": "primary", "clusterNames": ["m1"]},
                    {"affinityName": "backup", "labelSelector": {"matchLabels": {"tier": "b"}}},
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
            },
        },
    },
    {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "user-service"},
        "spec": {
            "host": "user-service",
            "trafficPolicy": {
                "loadBalancer": {
                    "simple": "ROUND_ROBIN",
                    "localityLbSetting": {
                        "enabled": True,
                        "distribute": [{"from": "a/*", "to": {"a/*": 80, "b/*": 20}}],
                    },
                }
            },
            "subsets": [{"name": "beijing", "labels": {"topology.istio.io/cluster": "cluster-beijing"}}],
        },
    },
    {
        "apiVersion": "scheduling.volcano.sh/v1beta1",
        "kind": "Queue",
        "metadata": {"name": "training"},
        "spec": {
            "weight": 4,
            "reclaimable": True,
            "capability": {"cpu": "64", "memory": "256Gi"},
            "deserved": {"cpu": 32},
            "guarantee": {"resource": {"cpu": "8"}},
        },
    },
    {
        "apiVersion": "apps.kubeedge.io/v1alpha1",
        "kind": "NodeGroup",
        "metadata": {"name": "hangzhou"},
        "spec": {"nodes": ["edge-node-01"], "matchLabels": {"region": "hangzhou"}},
    },
    {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "fleet"},
        "spec": {
            "selector": {"matchLabels": {"app": "fleet"}},
            "endpoints": [{"port": "http", "interval": "15s", "scrapeTimeout": "10s"}],
        },
    },
    {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "fleet"},
        "spec": {
            "groups": [
                {
                    "name": "g",
                    "interval": "1m",
                    "query_offset": "30s",
                    "rules": [
                        {"record": "cluster:up:sum", "expr": "sum by (cluster) (up)"},
                        {
                            "alert": "Down",
                            "expr": "cluster:up:sum == 0",
                            "for": "5m",
                            "keep_firing_for": "1m",
                            "annotations": {"summary": "down"},
                        },
                    ],
                }
            ]
        },
    },
    {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": {"name": "k8s", "namespace": "monitoring"},
        "spec": {
            "replicas": 2,
            "externalLabels": {"cluster": "member1"},
            "retention": "15d",
            "serviceMonitorSelector": {},
            "ruleSelector": {"matchLabels": {"role": "alert-rules"}},
            "thanos": {
                "image": "quay.io/thanos/thanos:v0.42.4",
                "objectStorageConfig": {"name": "objstore", "key": "thanos.yaml"},
            },
        },
    },
]


@pytest.mark.parametrize("doc", OTHER_DOCUMENTS, ids=[f"{d['kind']}/{d['metadata']['name']}" for d in OTHER_DOCUMENTS])
def test_other_documents_pass_their_crd(doc: dict[str, Any]) -> None:
    _check(doc)


def test_strict_schema_catches_a_wrong_json_name() -> None:
    doc = yaml.safe_load((EXAMPLES / "01-propagationpolicy-nginx.yaml").read_text(encoding="utf-8"))
    doc["spec"]["placement"]["replicaSchedulingTyp"] = "Duplicated"
    with pytest.raises(jsonschema.ValidationError):
        _validator(doc["apiVersion"], doc["kind"]).validate(doc)
