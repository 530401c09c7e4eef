"""Karmada models: propagation and override policies, member clusters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts.models import karmada

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]

PP_FILE = "01-propagationpolicy-nginx.yaml"
CPP_FILE = "02-clusterpropagationpolicy-frontend.yaml"

MINIMAL_PP: dict[str, Any] = {
    "apiVersion": "policy.karmada.io/v1alpha1",
    "kind": "PropagationPolicy",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}]},
}

# integrations.md 6.2: a native Divided/Weighted policy and an override policy.
NATIVE_PP: dict[str, Any] = {
    "apiVersion": "policy.karmada.io/v1alpha1",
    "kind": "PropagationPolicy",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
        "propagateDeps": True,
        "placement": {
            "clusterAffinity": {
                "fieldSelector": {
                    "matchExpressions": [{"key": "region", "operator": "In", "values": ["eu-west", "eu-central"]}]
                }
            },
            "clusterTolerations": [
                {
                    "key": "cluster.karmada.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 60,
                }
            ],
            "spreadConstraints": [
                {"spreadByField": "cluster", "maxGroups": 3, "minGroups": 1},
                {"spreadByField": "region", "maxGroups": 2},
            ],
            "replicaScheduling": {
                "replicaSchedulingType": "Divided",
                "replicaDivisionPreference": "Weighted",
                "weightPreference": {
                    "staticWeightList": [
                        {"targetCluster": {"clusterNames": ["member1"]}, "weight": 2},
                        {"targetCluster": {"clusterNames": ["member2"]}, "weight": 1},
                    ]
                },
            },
        },
    },
}

OVERRIDE: dict[str, Any] = {
    "apiVersion": "policy.karmada.io/v1alpha1",
    "kind": "OverridePolicy",
    "metadata": {"name": "web-eu-central", "namespace": "shop"},
    "spec": {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
        "overrideRules": [
            {
                "targetCluster": {"clusterNames": ["member2"]},
                "overriders": {
                    "imageOverrider": [
                        {"component": "Registry", "operator": "replace", "value": "registry.eu-central.example.com"}
                    ],
                    "argsOverrider": [{"containerName": "web", "operator": "add", "value": ["--region=eu-central"]}],
                    "labelsOverrider": [{"operator": "add", "value": {"topology": "eu-central"}}],
                    "plaintext": [{"path": "/spec/replicas", "operator": "replace", "value": 3}],
                    "fieldOverrider": [
                        {
                            "fieldPath": "/data/config.yaml",
                            "yaml": [{"subPath": "/db/host", "operator": "replace", "value": "db.eu"}],
                        }
                    ],
                },
            }
        ],
    },
}

CLUSTER: dict[str, Any] = {
    "apiVersion": "cluster.karmada.io/v1alpha1",
    "kind": "Cluster",
    "metadata": {"name": "cluster-beijing", "labels": {"region": "north-china"}},
    "spec": {
        "syncMode": "Push",
        "apiEndpoint": "https://10.0.0.1:6443",
        "secretRef": {"namespace": "karmada-cluster", "name": "cluster-beijing"},
        "insecureSkipTLSVerification": True,
        "region": "north-china",
        "zones": ["bj-a"],
        "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
    },
}


def test_seed_propagation_policy(example: Callable[..., dict[str, Any]]) -> None:
    policy = karmada.PropagationPolicy.model_validate(example(PP_FILE))
    assert policy.spec.placement is not None
    assert policy.spec.placement.cluster_affinity is not None
    assert policy.spec.placement.cluster_affinity.cluster_names == [
        "cluster-beijing",
        "cluster-shanghai",
        "cluster-guangzhou",
    ]
    normalized = policy.normalized_replica_scheduling()
    assert normalized.native.replica_scheduling_type == "Duplicated"
    assert not normalized.from_shorthand


def test_seed_cluster_propagation_policy_shorthand_is_normalized(example: Callable[..., dict[str, Any]]) -> None:
    doc = example(CPP_FILE)
    policy = karmada.ClusterPropagationPolicy.model_validate(doc)
    # The shorthand is kept as written on the wire ...
    assert policy.to_wire()["spec"]["placement"]["replicaScheduling"] == doc["spec"]["placement"]["replicaScheduling"]
    # ... and has a Karmada-native form.
    normalized = policy.normalized_replica_scheduling()
    assert normalized.from_shorthand
    assert normalized.requested_division_preference == "Aggregated"
    native = normalized.native.model_dump(mode="json", exclude_none=True)
    assert native == {
        "replicaSchedulingType": "Divided",
        "replicaDivisionPreference": "Weighted",
        "weightPreference": {
            "staticWeightList": [
                {"targetCluster": {"clusterNames": ["cluster-shanghai"]}, "weight": 60},
                {"targetCluster": {"clusterNames": ["cluster-hangzhou"]}, "weight": 40},
            ]
        },
    }


def test_native_policy_rewrites_only_the_shorthand(example: Callable[..., dict[str, Any]]) -> None:
    cpp = karmada.ClusterPropagationPolicy.model_validate(example(CPP_FILE))
    wire = cpp.native().to_wire()
    assert wire["spec"]["placement"]["replicaScheduling"] == {
        "replicaSchedulingType": "Divided",
        "replicaDivisionPreference": "Weighted",
        "weightPreference": {
            "staticWeightList": [
                {"targetCluster": {"clusterNames": ["cluster-shanghai"]}, "weight": 60},
                {"targetCluster": {"clusterNames": ["cluster-hangzhou"]}, "weight": 40},
            ]
        },
    }
    assert wire["spec"]["placement"]["clusterAffinity"] == cpp.to_wire()["spec"]["placement"]["clusterAffinity"]
    for doc in (example(PP_FILE), NATIVE_PP, MINIMAL_PP):
        policy = karmada.PropagationPolicy.model_validate(doc)
        assert policy.native().to_wire() == policy.to_wire()


def test_minimal_and_native_policies() -> None:
    karmada.PropagationPolicy.model_validate(MINIMAL_PP)
    policy = karmada.PropagationPolicy.model_validate(NATIVE_PP)
    native = policy.normalized_replica_scheduling().native
    assert native.replica_division_preference == "Weighted"
    assert native.weight_preference is not None
    assert native.weight_preference.static_weight_list is not None
    assert [w.weight for w in native.weight_preference.static_weight_list] == [2, 1]


@pytest.mark.parametrize(
    ("replica_scheduling", "expected"),
    [
        (None, {"replicaSchedulingType": "Duplicated"}),
        ({}, {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}),
        (
            {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"},
            {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"},
        ),
        (
            {"replicaSchedulingType": "Weighted"},
            {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"},
        ),
        (
            {"replicaSchedulingType": "Divided", "weightPreference": {"dynamicWeight": "AvailableReplicas"}},
            {
                "replicaSchedulingType": "Divided",
                "replicaDivisionPreference": "Weighted",
                "weightPreference": {"dynamicWeight": "AvailableReplicas"},
            },
        ),
    ],
)
def test_normalization_applies_karmada_defaults(
    edit: Callable[..., dict[str, Any]], replica_scheduling: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    doc = edit(
        MINIMAL_PP, ("spec.placement", {} if replica_scheduling is None else {"replicaScheduling": replica_scheduling})
    )
    policy = karmada.PropagationPolicy.model_validate(doc)
    native = policy.normalized_replica_scheduling().native
    assert native.model_dump(mode="json", exclude_none=True) == expected


PP_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no selectors", [("spec.resourceSelectors", ...)], [("spec.resourceSelectors", "FieldValueRequired")]),
    ("empty selectors", [("spec.resourceSelectors", [])], [("spec.resourceSelectors", "FieldValueRequired")]),
    (
        "selector without kind",
        [("spec.resourceSelectors[0].kind", ...)],
        [("spec.resourceSelectors[0].kind", "FieldValueRequired")],
    ),
    (
        "selector with empty apiVersion",
        [("spec.resourceSelectors[0].apiVersion", "")],
        [("spec.resourceSelectors[0].apiVersion", "FieldValueRequired")],
    ),
    (
        "selector in another namespace",
        [("spec.resourceSelectors[0].namespace", "other")],
        [("spec.resourceSelectors[0].namespace", "FieldValueInvalid")],
    ),
    (
        "affinity and affinities",
        [("spec.placement", {"clusterAffinity": {}, "clusterAffinities": [{"affinityName": "a"}]})],
        [("spec.placement.clusterAffinities", "FieldValueForbidden")],
    ),
    (
        "affinity without name",
        [("spec.placement", {"clusterAffinities": [{"clusterNames": ["a"]}]})],
        [("spec.placement.clusterAffinities[0].affinityName", "FieldValueRequired")],
    ),
    (
        "duplicate affinity names",
        [("spec.placement", {"clusterAffinities": [{"affinityName": "a"}, {"affinityName": "a"}]})],
        [("spec.placement.clusterAffinities[1].affinityName", "FieldValueDuplicate")],
    ),
    (
        "affinity name too long",
        [("spec.placement", {"clusterAffinities": [{"affinityName": "a" * 33}]})],
        [("spec.placement.clusterAffinities[0].affinityName", "FieldValueInvalid")],
    ),
    (
        "field selector key",
        [("spec.placement.clusterAffinity.fieldSelector.matchExpressions[0].key", "cloud")],
        [("spec.placement.clusterAffinity.fieldSelector.matchExpressions[0].key", "FieldValueNotSupported")],
    ),
    (
        "field selector operator",
        [("spec.placement.clusterAffinity.fieldSelector.matchExpressions[0].operator", "Exists")],
        [("spec.placement.clusterAffinity.fieldSelector.matchExpressions[0].operator", "FieldValueNotSupported")],
    ),
    (
        "toleration operator Lt",
        [("spec.placement.clusterTolerations[0].operator", "Lt")],
        [("spec.placement.clusterTolerations[0].operator", "FieldValueNotSupported")],
    ),
    (
        "toleration seconds without NoExecute",
        [("spec.placement.clusterTolerations[0].effect", "NoSchedule")],
        [("spec.placement.clusterTolerations[0].effect", "FieldValueInvalid")],
    ),
    (
        "spread by field and label",
        [("spec.placement.spreadConstraints[1].spreadByLabel", "topology/rack")],
        [("spec.placement.spreadConstraints[1].spreadByLabel", "FieldValueForbidden")],
    ),
    (
        "spread field enum",
        [("spec.placement.spreadConstraints[1].spreadByField", "rack")],
        [("spec.placement.spreadConstraints[1].spreadByField", "FieldValueNotSupported")],
    ),
    (
        "max below min",
        [("spec.placement.spreadConstraints[0].minGroups", 5)],
        [("spec.placement.spreadConstraints[0].maxGroups", "FieldValueInvalid")],
    ),
    (
        "negative min",
        [("spec.placement.spreadConstraints[0].minGroups", -1)],
        [("spec.placement.spreadConstraints[0].minGroups", "FieldValueInvalid")],
    ),
    (
        "no max groups",
        [("spec.placement.spreadConstraints[1].maxGroups", ...)],
        [("spec.placement.spreadConstraints[1].maxGroups", "FieldValueRequired")],
    ),
    (
        "two constraints per field",
        [("spec.placement.spreadConstraints[1].spreadByField", "cluster")],
        [("spec.placement.spreadConstraints[1].spreadByField", "FieldValueDuplicate")],
    ),
    (
        "field spread without cluster",
        [("spec.placement.spreadConstraints[0].spreadByField", "zone")],
        [("spec.placement.spreadConstraints", "FieldValueInvalid")],
    ),
    (
        "scheduling type enum",
        [("spec.placement.replicaScheduling.replicaSchedulingType", "Spread")],
        [("spec.placement.replicaScheduling.replicaSchedulingType", "FieldValueNotSupported")],
    ),
    (
        "division preference enum",
        [("spec.placement.replicaScheduling.replicaDivisionPreference", "Packed")],
        [("spec.placement.replicaScheduling.replicaDivisionPreference", "FieldValueNotSupported")],
    ),
    (
        "weight zero",
        [("spec.placement.replicaScheduling.weightPreference.staticWeightList[1].weight", 0)],
        [("spec.placement.replicaScheduling.weightPreference.staticWeightList[1].weight", "FieldValueInvalid")],
    ),
    (
        "weight without target",
        [("spec.placement.replicaScheduling.weightPreference.staticWeightList[0].targetCluster", ...)],
        [("spec.placement.replicaScheduling.weightPreference.staticWeightList[0].targetCluster", "FieldValueRequired")],
    ),
    (
        "static and dynamic weights",
        [("spec.placement.replicaScheduling.weightPreference.dynamicWeight", "AvailableReplicas")],
        [("spec.placement.replicaScheduling.weightPreference.dynamicWeight", "FieldValueForbidden")],
    ),
    (
        "dynamic weight enum",
        [("spec.placement.replicaScheduling.weightPreference", {"dynamicWeight": "Capacity"})],
        [("spec.placement.replicaScheduling.weightPreference.dynamicWeight", "FieldValueNotSupported")],
    ),
    (
        "weightList without Weighted type",
        [
            (
                "spec.placement.replicaScheduling.weightList",
                [{"targetCluster": {"clusterNames": ["member1"]}, "weight": 1}],
            )
        ],
        [("spec.placement.replicaScheduling.weightList", "FieldValueForbidden")],
    ),
    (
        "preemption needs names",
        [("spec.preemption", "Always"), ("spec.resourceSelectors[0].name", ...)],
        [("spec.resourceSelectors[0].name", "FieldValueRequired")],
    ),
    ("preemption enum", [("spec.preemption", "Sometimes")], [("spec.preemption", "FieldValueNotSupported")]),
    (
        "failover needs propagateDeps",
        [("spec.propagateDeps", False), ("spec.failover", {"application": {"purgeMode": "Gracefully"}})],
        [("spec.propagateDeps", "FieldValueInvalid")],
    ),
    (
        "old purge mode",
        [("spec.failover", {"application": {"purgeMode": "Graciously"}})],
        [("spec.failover.application.purgeMode", "FieldValueNotSupported")],
    ),
    (
        "grace period with Directly",
        [("spec.failover", {"application": {"purgeMode": "Directly", "gracePeriodSeconds": 30}})],
        [("spec.failover.application.gracePeriodSeconds", "FieldValueForbidden")],
    ),
    (
        "cluster purge mode Never",
        [("spec.failover", {"cluster": {"purgeMode": "Never"}})],
        [("spec.failover.cluster.purgeMode", "FieldValueNotSupported")],
    ),
    (
        "conflict resolution enum",
        [("spec.conflictResolution", "Merge")],
        [("spec.conflictResolution", "FieldValueNotSupported")],
    ),
    (
        "suspension both",
        [("spec.suspension", {"dispatching": True, "dispatchingOnClusters": {"clusterNames": ["a"]}})],
        [("spec.suspension.dispatchingOnClusters", "FieldValueForbidden")],
    ),
    ("bad policy name", [("metadata.name", "Web_Policy")], [("metadata.name", "FieldValueInvalid")]),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in PP_BROKEN], ids=[c[0] for c in PP_BROKEN])
def test_propagation_policy_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(karmada.PropagationPolicy, NATIVE_PP, *edits) == expected


CPP_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    (
        "shorthand weight zero",
        [("spec.placement.replicaScheduling.weightList[0].weight", 0)],
        [("spec.placement.replicaScheduling.weightList[0].weight", "FieldValueInvalid")],
    ),
    (
        "shorthand without target",
        [("spec.placement.replicaScheduling.weightList[1].targetCluster", ...)],
        [("spec.placement.replicaScheduling.weightList[1].targetCluster", "FieldValueRequired")],
    ),
    (
        "shorthand and weightPreference",
        [("spec.placement.replicaScheduling.weightPreference", {"dynamicWeight": "AvailableReplicas"})],
        [("spec.placement.replicaScheduling.weightList", "FieldValueForbidden")],
    ),
    (
        "label selector value",
        [("spec.placement.clusterAffinity.labelSelector.matchLabels.region", "east china")],
        [("spec.placement.clusterAffinity.labelSelector.matchLabels[region]", "FieldValueInvalid")],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in CPP_BROKEN], ids=[c[0] for c in CPP_BROKEN])
def test_cluster_propagation_policy_rejects(
    reject: Reject, example: Callable[..., dict[str, Any]], edits: list[Edit], expected: list[tuple[str, str]]
) -> None:
    assert reject(karmada.ClusterPropagationPolicy, example(CPP_FILE), *edits) == expected


def test_cluster_policy_may_select_any_namespace(edit: Callable[..., dict[str, Any]]) -> None:
    doc = edit(
        MINIMAL_PP,
        ("kind", "ClusterPropagationPolicy"),
        ("metadata.namespace", ...),
        ("spec.resourceSelectors[0].namespace", "anywhere"),
    )
    karmada.ClusterPropagationPolicy.model_validate(doc)


def test_override_policy_valid() -> None:
    policy = karmada.OverridePolicy.model_validate(OVERRIDE)
    wire = policy.to_wire()
    assert wire["spec"]["overrideRules"][0]["overriders"]["fieldOverrider"][0]["yaml"][0]["value"] == "db.eu"
    karmada.ClusterOverridePolicy.model_validate({**OVERRIDE, "kind": "ClusterOverridePolicy"})


def test_override_policy_deprecated_form_alone_is_valid(edit: Callable[..., dict[str, Any]]) -> None:
    doc = edit(
        OVERRIDE,
        ("spec.overrideRules", ...),
        ("spec.targetCluster", {"clusterNames": ["m1"]}),
        ("spec.overriders", {"plaintext": [{"path": "/spec/replicas", "operator": "remove"}]}),
    )
    karmada.OverridePolicy.model_validate(doc)


_O = "spec.overrideRules[0].overriders"

OP_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    (
        "rules and targetCluster",
        [("spec.targetCluster", {"clusterNames": ["m1"]})],
        [("spec.targetCluster", "FieldValueForbidden")],
    ),
    ("rules and overriders", [("spec.overriders", {})], [("spec.overriders", "FieldValueForbidden")]),
    ("rule without overriders", [("spec.overrideRules[0].overriders", ...)], [(_O, "FieldValueRequired")]),
    (
        "plaintext operator",
        [(f"{_O}.plaintext[0].operator", "move")],
        [(f"{_O}.plaintext[0].operator", "FieldValueNotSupported")],
    ),
    (
        "plaintext add without value",
        [(f"{_O}.plaintext[0].operator", "add"), (f"{_O}.plaintext[0].value", ...)],
        [(f"{_O}.plaintext[0].value", "FieldValueRequired")],
    ),
    (
        "plaintext remove with value",
        [(f"{_O}.plaintext[0].operator", "remove")],
        [(f"{_O}.plaintext[0].value", "FieldValueForbidden")],
    ),
    (
        "plaintext path not a pointer",
        [(f"{_O}.plaintext[0].path", "spec.replicas")],
        [(f"{_O}.plaintext[0].path", "FieldValueInvalid")],
    ),
    (
        "plaintext path bad escape",
        [(f"{_O}.plaintext[0].path", "/metadata/labels/a~b")],
        [(f"{_O}.plaintext[0].path", "FieldValueInvalid")],
    ),
    ("plaintext without path", [(f"{_O}.plaintext[0].path", ...)], [(f"{_O}.plaintext[0].path", "FieldValueRequired")]),
    (
        "image component",
        [(f"{_O}.imageOverrider[0].component", "Digest")],
        [(f"{_O}.imageOverrider[0].component", "FieldValueNotSupported")],
    ),
    (
        "image replace without value",
        [(f"{_O}.imageOverrider[0].value", "")],
        [(f"{_O}.imageOverrider[0].value", "FieldValueRequired")],
    ),
    (
        "image predicate not a pointer",
        [(f"{_O}.imageOverrider[0].predicate", {"path": "containers[0]"})],
        [(f"{_O}.imageOverrider[0].predicate.path", "FieldValueInvalid")],
    ),
    (
        "args operator replace",
        [(f"{_O}.argsOverrider[0].operator", "replace")],
        [(f"{_O}.argsOverrider[0].operator", "FieldValueNotSupported")],
    ),
    (
        "args without container",
        [(f"{_O}.argsOverrider[0].containerName", ...)],
        [(f"{_O}.argsOverrider[0].containerName", "FieldValueRequired")],
    ),
    (
        "labels value",
        [(f"{_O}.labelsOverrider[0].value", {"bad key!": "x"})],
        [(f"{_O}.labelsOverrider[0].value[bad key!]", "FieldValueInvalid")],
    ),
    (
        "field overrider json and yaml",
        [(f"{_O}.fieldOverrider[0].json", [])],
        [(f"{_O}.fieldOverrider[0].yaml", "FieldValueForbidden")],
    ),
    (
        "field overrider neither",
        [(f"{_O}.fieldOverrider[0].yaml", ...)],
        [(f"{_O}.fieldOverrider[0]", "FieldValueRequired")],
    ),
    (
        "field patch remove with value",
        [(f"{_O}.fieldOverrider[0].yaml[0].operator", "remove")],
        [(f"{_O}.fieldOverrider[0].yaml[0].value", "FieldValueForbidden")],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in OP_BROKEN], ids=[c[0] for c in OP_BROKEN])
def test_override_policy_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(karmada.OverridePolicy, OVERRIDE, *edits) == expected


def test_cluster_valid(edit: Callable[..., dict[str, Any]]) -> None:
    cluster = karmada.Cluster.model_validate(CLUSTER)
    assert cluster.to_wire()["spec"]["insecureSkipTLSVerification"] is True
    karmada.Cluster.model_validate(edit(CLUSTER, ("metadata.name", "c" * 48)))
    karmada.Cluster.model_validate(
        {
            "apiVersion": "cluster.karmada.io/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "edge-1"},
            "spec": {"syncMode": "Pull"},
        }
    )


CLUSTER_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("name too long", [("metadata.name", "c" * 49)], [("metadata.name", "FieldValueInvalid")]),
    ("name not a label", [("metadata.name", "cluster.beijing")], [("metadata.name", "FieldValueInvalid")]),
    ("no sync mode", [("spec.syncMode", ...)], [("spec.syncMode", "FieldValueRequired")]),
    ("sync mode enum", [("spec.syncMode", "Poll")], [("spec.syncMode", "FieldValueNotSupported")]),
    ("no spec", [("spec", ...)], [("spec", "FieldValueRequired")]),
    (
        "endpoint with user info",
        [("spec.apiEndpoint", "https://admin:pw@10.0.0.1:6443")],
        [("spec.apiEndpoint", "FieldValueForbidden")],
    ),
    (
        "secret ref without namespace",
        [("spec.secretRef.namespace", ...)],
        [("spec.secretRef.namespace", "FieldValueRequired")],
    ),
    ("taint effect", [("spec.taints[0].effect", "Evict")], [("spec.taints[0].effect", "FieldValueNotSupported")]),
    (
        "duplicate taint",
        [
            (
                "spec.taints",
                [
                    {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
                    {"key": "dedicated", "value": "cpu", "effect": "NoSchedule"},
                ],
            )
        ],
        [("spec.taints[1]", "FieldValueDuplicate")],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in CLUSTER_BROKEN], ids=[c[0] for c in CLUSTER_BROKEN])
def test_cluster_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(karmada.Cluster, CLUSTER, *edits) == expected
