"""Deriving the VirtualService and DestinationRule to write from a VirtualService intent."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from kurator_apps.traffic import derive, locality, subsets
from kurator_apps.traffic.mesh import PRIMARY_LABEL, MemberCluster
from shared.contracts.models import istio
from shared.errors import InvalidIntent

Obj = dict[str, Any]
Causes = Callable[[Obj], list[str]]


def _plan(doc: Obj, fleet: list[MemberCluster], rules: tuple[Obj, ...] = ()) -> derive.TrafficPlan:
    return derive.plan(
        derive.parse(doc),
        clusters=fleet,
        destination_rules=[istio.DestinationRule.model_validate(r) for r in rules],
    )


def _rejected(doc: Obj, fleet: list[MemberCluster], rules: tuple[Obj, ...] = ()) -> list[tuple[str, str]]:
    with pytest.raises(InvalidIntent) as info:
        _plan(doc, fleet, rules)
    return [(r.field, r.reason) for r in info.value.reasons]


def _route(*weights: int | None, host: str = "user-service", subsets_: tuple[str, ...] = ()) -> list[Obj]:
    names = subsets_ or ("beijing", "shanghai", "guangzhou")[: len(weights)]
    out = []
    for name, weight in zip(names, weights, strict=True):
        entry: Obj = {"destination": {"host": host, "subset": name}}
        if weight is not None:
            entry["weight"] = weight
        out.append(entry)
    return out


# --- the seed --------------------------------------------------------------------------------------


def test_seed_virtual_service(seed_vs: Obj, fleet: list[MemberCluster], crd_causes: Causes) -> None:
    plan = _plan(seed_vs, fleet)
    vs = plan.virtual_service
    assert vs["apiVersion"] == "networking.istio.io/v1"
    assert vs["kind"] == "VirtualService"
    assert vs["metadata"] == {"name": "user-service"}
    assert vs["spec"]["hosts"] == ["user-service"]
    assert [d["weight"] for d in vs["spec"]["http"][0]["route"]] == [50, 30, 20]
    assert crd_causes(vs) == []


def test_seed_destination_rule_has_a_subset_per_cluster(
    seed_vs: Obj, fleet: list[MemberCluster], crd_causes: Causes
) -> None:
    plan = _plan(seed_vs, fleet)
    (rule,) = plan.destination_rules
    assert rule == {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "user-service", "annotations": {"traffic.kurator.dev/virtual-service": "user-service"}},
        "spec": {
            "host": "user-service",
            "subsets": [
                {"name": "beijing", "labels": {"topology.istio.io/cluster": "cluster-beijing"}},
                {"name": "shanghai", "labels": {"topology.istio.io/cluster": "cluster-shanghai"}},
                {"name": "guangzhou", "labels": {"topology.istio.io/cluster": "cluster-guangzhou"}},
            ],
        },
    }
    assert crd_causes(rule) == []
    assert [(b.subset, b.cluster, b.rule, b.destination_rule) for b in plan.bindings] == [
        ("beijing", "cluster-beijing", "prefixed", "user-service"),
        ("shanghai", "cluster-shanghai", "prefixed", "user-service"),
        ("guangzhou", "cluster-guangzhou", "prefixed", "user-service"),
    ]
    assert plan.warnings == ()


def test_seed_is_written_to_the_labelled_primary(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    # The example fleet labels beijing istio.kurator.dev/primary=true: primary-remote.
    assert _plan(seed_vs, fleet).primaries == ("cluster-beijing",)


def test_without_a_primary_label_every_cluster_but_the_edge_site_is_one(
    seed_vs: Obj, fleet: list[MemberCluster]
) -> None:
    unlabelled = [MemberCluster(c.name, {k: v for k, v in c.labels.items() if k != PRIMARY_LABEL}) for c in fleet]
    assert _plan(seed_vs, unlabelled).primaries == (
        "cluster-beijing",
        "cluster-guangzhou",
        "cluster-hangzhou",
        "cluster-shanghai",
        "cluster-suzhou-staging",
    )


def test_namespace_and_metadata_are_carried(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    seed_vs["metadata"].update(namespace="shop", labels={"team": "users"}, uid="u-1", resourceVersion="7")
    plan = _plan(seed_vs, fleet)
    assert plan.virtual_service["metadata"] == {
        "name": "user-service",
        "namespace": "shop",
        "labels": {"team": "users"},
    }
    assert plan.destination_rules[0]["metadata"]["namespace"] == "shop"


# --- weights ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "written"),
    [
        ((5, 3, 2), [50, 30, 20]),
        ((1, 1, 1), [34, 33, 33]),
        ((2, None, 1), [67, 0, 33]),
        ((0, 0, 7), [0, 0, 100]),
        ((None,), [100]),
    ],
)
def test_weights_are_normalised_to_100(
    seed_vs: Obj, fleet: list[MemberCluster], weights: tuple[int | None, ...], written: list[int]
) -> None:
    seed_vs["spec"]["http"][0]["route"] = _route(*weights)
    route = _plan(seed_vs, fleet).virtual_service["spec"]["http"][0]["route"]
    assert [d["weight"] for d in route] == written


def test_every_route_kind_is_normalised(seed_vs: Obj, fleet: list[MemberCluster], crd_causes: Causes) -> None:
    seed_vs["spec"]["http"].insert(0, {"match": [{"uri": {"prefix": "/v2"}}], "route": _route(1, 3)})
    seed_vs["spec"]["tcp"] = [{"match": [{"port": 9000}], "route": _route(3, 1)}]
    seed_vs["spec"]["http"].append({"redirect": {"uri": "/elsewhere"}})
    vs = _plan(seed_vs, fleet).virtual_service
    assert [d["weight"] for d in vs["spec"]["http"][0]["route"]] == [25, 75]
    assert [d["weight"] for d in vs["spec"]["http"][1]["route"]] == [50, 30, 20]
    assert [d["weight"] for d in vs["spec"]["tcp"][0]["route"]] == [75, 25]
    assert vs["spec"]["http"][2] == {"redirect": {"uri": "/elsewhere"}}
    # Fields the model does not declare reach Istio untouched.
    assert vs["spec"]["http"][0]["match"] == [{"uri": {"prefix": "/v2"}}]
    assert crd_causes(vs) == []


# --- subset -> cluster -----------------------------------------------------------------------------


def test_annotation_mapping_wins_then_exact_then_prefixed_then_assumed(seed_vs: Obj, crd_causes: Causes) -> None:
    fleet = [MemberCluster(n, ready=True) for n in ("beijing", "cluster-beijing", "cluster-shanghai", "gz-prod")]
    seed_vs["metadata"]["annotations"] = {subsets.SUBSET_CLUSTERS_ANNOTATION: " guangzhou = gz-prod "}
    seed_vs["spec"]["http"][0]["route"].append({"destination": {"host": "user-service", "subset": "wuhan"}})
    plan = _plan(seed_vs, fleet)
    assert [(b.subset, b.cluster, b.rule) for b in plan.bindings] == [
        ("beijing", "beijing", "exact"),
        ("shanghai", "cluster-shanghai", "prefixed"),
        ("guangzhou", "gz-prod", "annotation"),
        ("wuhan", "wuhan", "assumed"),
    ]
    labels = [s["labels"]["topology.istio.io/cluster"] for s in plan.destination_rules[0]["spec"]["subsets"]]
    assert labels == ["beijing", "cluster-shanghai", "gz-prod", "wuhan"]
    assert crd_causes(plan.destination_rules[0]) == []


def test_mapping_for_unused_subsets_is_a_warning(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    seed_vs["metadata"]["annotations"] = {subsets.SUBSET_CLUSTERS_ANNOTATION: "beijing=cluster-beijing,x=cluster-x"}
    assert _plan(seed_vs, fleet).warnings == ("traffic.kurator.dev/subset-clusters maps subsets no route uses: x",)


def test_one_rule_per_destination_host_and_mirrors_count(fleet: list[MemberCluster], crd_causes: Causes) -> None:
    doc = {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "checkout", "namespace": "shop"},
        "spec": {
            "hosts": ["checkout"],
            "http": [
                {
                    "route": _route(90, 10, host="checkout", subsets_=("beijing", "shanghai")),
                    "mirror": {"host": "audit.tools.svc.cluster.local", "subset": "guangzhou"},
                }
            ],
        },
    }
    plan = _plan(doc, fleet)
    assert [(r["metadata"]["name"], r["spec"]["host"]) for r in plan.destination_rules] == [
        ("checkout", "checkout"),
        ("checkout-audit", "audit.tools.svc.cluster.local"),
    ]
    assert [s["name"] for s in plan.destination_rules[1]["spec"]["subsets"]] == ["guangzhou"]
    for rule in plan.destination_rules:
        assert crd_causes(rule) == []


def test_no_subsets_no_rules(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    seed_vs["spec"]["http"][0]["route"] = [{"destination": {"host": "user-service"}}]
    plan = _plan(seed_vs, fleet)
    assert plan.destination_rules == ()
    assert plan.bindings == ()


# --- the user's own DestinationRule ---------------------------------------------------------------


def _user_rule(*names: str, **policy: Any) -> Obj:
    spec: Obj = {
        "host": "user-service.default.svc.cluster.local",
        "subsets": [{"name": n, "labels": {"topology.istio.io/cluster": f"cluster-{n}"}} for n in names],
    }
    if policy:
        spec["trafficPolicy"] = policy
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "user-service-dr"},
        "spec": spec,
    }


def test_a_given_destination_rule_is_used_and_checked(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    rule = _user_rule("beijing", "shanghai", "guangzhou")
    rule["spec"]["subsets"][2]["labels"] = {"version": "v2"}
    plan = _plan(seed_vs, fleet, (rule,))
    assert plan.destination_rules == ()
    assert [(b.subset, b.cluster, b.rule, b.destination_rule) for b in plan.bindings] == [
        ("beijing", "cluster-beijing", "destinationRule", "user-service-dr"),
        ("shanghai", "cluster-shanghai", "destinationRule", "user-service-dr"),
        ("guangzhou", None, "destinationRule", "user-service-dr"),
    ]


def test_a_given_destination_rule_must_define_every_subset(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    assert _rejected(seed_vs, fleet, (_user_rule("beijing", "shanghai"),)) == [
        ("spec.http[0].route[2].destination.subset", "NotFound")
    ]


def test_a_given_failover_without_outlier_detection_is_a_warning(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    lb = {"localityLbSetting": {"enabled": True, "failover": [{"from": "north-china", "to": "east-china"}]}}
    plan = _plan(seed_vs, fleet, (_user_rule("beijing", "shanghai", "guangzhou", loadBalancer=lb),))
    (warning,) = plan.warnings
    assert "outlier detection policy must be provided for failover" in warning


# --- locality failover ---------------------------------------------------------------------------


def _with(seed_vs: Obj, **annotations: str) -> Obj:
    seed_vs["metadata"]["annotations"] = annotations
    return seed_vs


def test_locality_failover(seed_vs: Obj, fleet: list[MemberCluster], crd_causes: Causes) -> None:
    plan = _plan(_with(seed_vs, **{locality.LOCALITY_ANNOTATION: "failover"}), fleet)
    (rule,) = plan.destination_rules
    assert rule["spec"]["trafficPolicy"] == {
        "loadBalancer": {"localityLbSetting": {"enabled": True}},
        "outlierDetection": {
            "consecutive5xxErrors": 5,
            "interval": "10s",
            "baseEjectionTime": "30s",
            "maxEjectionPercent": 100,
        },
    }
    assert crd_causes(rule) == []


def test_locality_failover_rules_and_custom_outlier_detection(
    seed_vs: Obj, fleet: list[MemberCluster], crd_causes: Causes
) -> None:
    doc = _with(
        seed_vs,
        **{
            locality.LOCALITY_ANNOTATION: "failover:north-china=east-china, east-china=south-china",
            locality.OUTLIER_ANNOTATION: json.dumps({"consecutiveGatewayErrors": 3, "interval": "5s"}),
        },
    )
    (rule,) = _plan(doc, fleet).destination_rules
    assert rule["spec"]["trafficPolicy"] == {
        "loadBalancer": {
            "localityLbSetting": {
                "enabled": True,
                "failover": [{"from": "north-china", "to": "east-china"}, {"from": "east-china", "to": "south-china"}],
            }
        },
        "outlierDetection": {"consecutiveGatewayErrors": 3, "interval": "5s"},
    }
    assert crd_causes(rule) == []


def test_locality_distribute_needs_no_outlier_detection(
    seed_vs: Obj, fleet: list[MemberCluster], crd_causes: Causes
) -> None:
    setting = {"distribute": [{"from": "north-china/*", "to": {"north-china/*": 80, "east-china/*": 20}}]}
    (rule,) = _plan(_with(seed_vs, **{locality.LOCALITY_ANNOTATION: json.dumps(setting)}), fleet).destination_rules
    assert rule["spec"]["trafficPolicy"] == {"loadBalancer": {"localityLbSetting": setting}}
    assert crd_causes(rule) == []


def test_locality_off(seed_vs: Obj, fleet: list[MemberCluster]) -> None:
    (rule,) = _plan(_with(seed_vs, **{locality.LOCALITY_ANNOTATION: "off"}), fleet).destination_rules
    assert "trafficPolicy" not in rule["spec"]


# --- broken variants -------------------------------------------------------------------------------

ANNOTATION = f"metadata.annotations[{subsets.SUBSET_CLUSTERS_ANNOTATION}]"
LOCALITY = f"metadata.annotations[{locality.LOCALITY_ANNOTATION}]"
BROKEN: list[tuple[str, Callable[[Obj], object], list[tuple[str, str]]]] = [
    (
        "subset not a DNS label",
        lambda d: d["spec"]["http"][0]["route"][1]["destination"].update(subset="Shang_Hai"),
        [("spec.http[0].route[1].destination.subset", "FieldValueInvalid")],
    ),
    (
        "route and redirect",
        lambda d: d["spec"]["http"][0].update(redirect={"uri": "/x"}),
        [("spec.http[0].redirect", "FieldValueForbidden")],
    ),
    (
        "neither route nor redirect nor directResponse",
        lambda d: d["spec"]["http"][0].pop("route"),
        [("spec.http[0]", "FieldValueRequired")],
    ),
    (
        "negative weight",
        lambda d: d["spec"]["http"][0]["route"][1].update(weight=-5),
        [("spec.http[0].route[1].weight", "FieldValueInvalid")],
    ),
    (
        "all weights zero",
        lambda d: [r.update(weight=0) for r in d["spec"]["http"][0]["route"]],
        [("spec.http[0].route", "FieldValueInvalid")],
    ),
    ("wildcard host in the mesh", lambda d: d["spec"].update(hosts=["*"]), [("spec.hosts[0]", "FieldValueInvalid")]),
    ("no hosts", lambda d: d["spec"].pop("hosts"), [("spec.hosts", "FieldValueRequired")]),
    ("no routes at all", lambda d: d["spec"].pop("http"), [("spec.http", "FieldValueRequired")]),
    (
        "destination host '*'",
        lambda d: d["spec"]["http"][0]["route"][0]["destination"].update(host="*"),
        [("spec.http[0].route[0].destination.host", "FieldValueInvalid")],
    ),
    (
        "malformed subset mapping",
        lambda d: d["metadata"].update(annotations={subsets.SUBSET_CLUSTERS_ANNOTATION: "beijing"}),
        [(ANNOTATION, "FieldValueInvalid")],
    ),
    (
        "mapping to an invalid cluster name",
        lambda d: d["metadata"].update(annotations={subsets.SUBSET_CLUSTERS_ANNOTATION: "beijing=Cluster_BJ"}),
        [(ANNOTATION, "FieldValueInvalid")],
    ),
    (
        "a subset mapped twice",
        lambda d: d["metadata"].update(annotations={subsets.SUBSET_CLUSTERS_ANNOTATION: "beijing=a,beijing=b"}),
        [(ANNOTATION, "FieldValueDuplicate")],
    ),
    (
        "unknown locality mode",
        lambda d: d["metadata"].update(annotations={locality.LOCALITY_ANNOTATION: "sometimes"}),
        [(LOCALITY, "FieldValueNotSupported")],
    ),
    (
        "locality JSON that is not JSON",
        lambda d: d["metadata"].update(annotations={locality.LOCALITY_ANNOTATION: "{distribute"}),
        [(LOCALITY, "FieldValueInvalid")],
    ),
    (
        "distribute weights not summing to 100",
        lambda d: d["metadata"].update(
            annotations={
                locality.LOCALITY_ANNOTATION: json.dumps(
                    {"distribute": [{"from": "a/*", "to": {"a/*": 70, "b/*": 20}}]}
                )
            }
        ),
        [(f"{LOCALITY}.distribute[0].to", "FieldValueInvalid")],
    ),
    (
        "distribute and failover",
        lambda d: d["metadata"].update(
            annotations={
                locality.LOCALITY_ANNOTATION: json.dumps(
                    {"distribute": [{"from": "a/*", "to": {"a/*": 100}}], "failover": [{"from": "a", "to": "b"}]}
                )
            }
        ),
        [(f"{LOCALITY}.failover", "FieldValueForbidden")],
    ),
    (
        "failover rule to the same region",
        lambda d: d["metadata"].update(annotations={locality.LOCALITY_ANNOTATION: "failover:a=a"}),
        [(f"{LOCALITY}.failover[0].to", "FieldValueInvalid")],
    ),
    (
        "failover rule without a target",
        lambda d: d["metadata"].update(annotations={locality.LOCALITY_ANNOTATION: "failover:north-china"}),
        [(LOCALITY, "FieldValueInvalid")],
    ),
    (
        "outlier detection without locality",
        lambda d: d["metadata"].update(annotations={locality.OUTLIER_ANNOTATION: "{}"}),
        [(f"metadata.annotations[{locality.OUTLIER_ANNOTATION}]", "FieldValueForbidden")],
    ),
    (
        "outlier detection that is not an object",
        lambda d: d["metadata"].update(
            annotations={locality.LOCALITY_ANNOTATION: "failover", locality.OUTLIER_ANNOTATION: "[1]"}
        ),
        [(f"metadata.annotations[{locality.OUTLIER_ANNOTATION}]", "FieldValueInvalid")],
    ),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in BROKEN], ids=[n for n, _, _ in BROKEN])
def test_broken_variants_are_rejected_naming_the_field(
    seed_vs: Obj, fleet: list[MemberCluster], change: Callable[[Obj], object], expected: list[tuple[str, str]]
) -> None:
    change(seed_vs)
    assert _rejected(seed_vs, fleet) == expected
