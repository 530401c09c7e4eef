"""The filter plugins (spec 4) and the diagnosis of the clusters they leave out."""

from __future__ import annotations

from typing import Any

import pytest

from shared.placement import NoFit, ScheduleRequest, schedule, selectors, views
from shared.placement.testing import as_map, cluster


def place(placement: dict[str, Any] | None, clusters: list[dict[str, Any]], **kw: Any) -> dict[str, int]:
    kw.setdefault("replicas", 1)
    return as_map(schedule(ScheduleRequest(placement=placement, clusters=clusters, **kw)).clusters)


def excluded(placement: dict[str, Any] | None, clusters: list[dict[str, Any]], **kw: Any) -> dict[str, str]:
    kw.setdefault("replicas", 1)
    return dict(schedule(ScheduleRequest(placement=placement, clusters=clusters, **kw)).excluded)


FLEET = [
    cluster("bj", labels={"env": "prod"}, provider="huaweicloud", region="north", zones=["n1", "n2"]),
    cluster("sh", labels={"env": "prod"}, provider="huaweicloud", region="east", zones=["e1"]),
    cluster("hz", labels={"env": "prod", "gpu": "a100"}, provider="alibabacloud", region="east", zones=["e2"]),
    cluster("st", labels={"env": "staging"}, provider="huaweicloud", region="east"),
    cluster("bare"),
]


def names(affinity: dict[str, Any]) -> set[str]:
    try:
        return set(place({"clusterAffinity": affinity}, FLEET, replicas=0))
    except NoFit as exc:
        reason = exc.reason
    assert reason == "NoClusterFit"
    return set()


# --- ClusterAffinity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("affinity", "expected"),
    [
        ({}, {"bj", "sh", "hz", "st", "bare"}),
        ({"clusterNames": ["bj", "st", "nowhere"]}, {"bj", "st"}),
        ({"exclude": ["bj", "bare"]}, {"sh", "hz", "st"}),
        ({"clusterNames": ["bj", "sh"], "exclude": ["bj"]}, {"sh"}),
        ({"labelSelector": {"matchLabels": {"env": "prod"}}}, {"bj", "sh", "hz"}),
        ({"labelSelector": {}}, {"bj", "sh", "hz", "st", "bare"}),
        ({"labelSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": ["staging"]}]}}, {"st"}),
        (
            {"labelSelector": {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}},
            {"st", "bare"},
        ),
        ({"labelSelector": {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}}, {"hz"}),
        (
            {"labelSelector": {"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}},
            {"bj", "sh", "st", "bare"},
        ),
        # Invalid selectors match nothing: In without values, Exists with values, a bad operator or key.
        ({"labelSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": []}]}}, set()),
        ({"labelSelector": {"matchExpressions": [{"key": "env", "operator": "Exists", "values": ["x"]}]}}, set()),
        ({"labelSelector": {"matchExpressions": [{"key": "env", "operator": "Gt", "values": ["1"]}]}}, set()),
        ({"labelSelector": {"matchLabels": {"bad key!": "x"}}}, set()),
        ({"labelSelector": {"matchLabels": {"env": "not a value"}}}, set()),
    ],
)
def test_cluster_affinity_names_exclude_and_labels(affinity: dict[str, Any], expected: set[str]) -> None:
    assert names(affinity) == expected


def fields(*exprs: dict[str, Any]) -> dict[str, Any]:
    return {"fieldSelector": {"matchExpressions": list(exprs)}}


@pytest.mark.parametrize(
    ("affinity", "expected"),
    [
        (fields({"key": "region", "operator": "In", "values": ["east"]}), {"sh", "hz", "st"}),
        (
            fields(
                {"key": "region", "operator": "In", "values": ["east"]},
                {"key": "provider", "operator": "NotIn", "values": ["alibabacloud"]},
            ),
            {"sh", "st"},
        ),
        (fields({"key": "provider", "operator": "NotIn", "values": ["huaweicloud"]}), {"hz", "bare"}),
        (fields({"key": "region", "operator": "Exists"}), {"bj", "sh", "hz", "st"}),
        (fields({"key": "region", "operator": "DoesNotExist"}), {"bare"}),
        # Zones: In is any overlap; NotIn holds for clusters without zones.
        (fields({"key": "zone", "operator": "In", "values": ["n2", "e2"]}), {"bj", "hz"}),
        (fields({"key": "zone", "operator": "NotIn", "values": ["n1"]}), {"sh", "hz", "st", "bare"}),
        (fields({"key": "zone", "operator": "Exists"}), {"bj", "sh", "hz"}),
        (fields({"key": "zone", "operator": "DoesNotExist"}), {"st", "bare"}),
        (fields({"key": "zone", "operator": "Gt", "values": ["1"]}), set()),
        # Another key is absent everywhere: In never matches, NotIn and DoesNotExist always do.
        (fields({"key": "metadata.name", "operator": "In", "values": ["bj"]}), set()),
        (fields({"key": "metadata.name", "operator": "NotIn", "values": ["bj"]}), {"bj", "sh", "hz", "st", "bare"}),
        (fields({"key": "region", "operator": "Bogus", "values": ["east"]}), set()),
        ({**fields({"key": "region", "operator": "In", "values": ["east"]}), "clusterNames": ["hz", "bj"]}, {"hz"}),
    ],
)
def test_cluster_affinity_field_selectors(affinity: dict[str, Any], expected: set[str]) -> None:
    assert names(affinity) == expected


def test_numeric_field_requirements() -> None:
    fleet = [cluster("a", region="10"), cluster("b", region="20"), cluster("c", region="x")]
    gt = {"clusterAffinity": fields({"key": "region", "operator": "Gt", "values": ["15"]})}
    assert set(place(gt, fleet, replicas=0)) == {"b"}
    lt = {"clusterAffinity": fields({"key": "region", "operator": "Lt", "values": ["15"]})}
    assert set(place(lt, fleet, replicas=0)) == {"a"}


# --- TaintToleration -----------------------------------------------------------------------------

DEDICATED = {"key": "dedicated", "value": "ml", "effect": "NoSchedule"}
NOT_READY = {"key": "cluster.karmada.io/not-ready", "effect": "NoExecute"}


@pytest.mark.parametrize(
    ("tolerations", "expected"),
    [
        ([], {"clean", "soft"}),
        ([{"key": "dedicated", "operator": "Equal", "value": "ml"}], {"clean", "soft", "ml"}),
        ([{"key": "dedicated", "value": "ml", "effect": "NoSchedule"}], {"clean", "soft", "ml"}),
        ([{"key": "dedicated", "value": "other"}], {"clean", "soft"}),
        ([{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}], {"clean", "soft"}),
        ([{"key": "cluster.karmada.io/not-ready", "operator": "Exists"}], {"clean", "soft", "down"}),
        ([{"operator": "Exists"}], {"clean", "soft", "ml", "down"}),
        ([{"key": "dedicated", "operator": "Lt", "value": "ml"}], {"clean", "soft"}),
    ],
)
def test_taints_and_tolerations(tolerations: list[dict[str, Any]], expected: set[str]) -> None:
    fleet = [
        cluster("clean"),
        cluster("soft", taints=[{"key": "maybe", "effect": "PreferNoSchedule"}]),
        cluster("ml", taints=[DEDICATED]),
        cluster("down", taints=[NOT_READY]),
    ]
    assert set(place({"clusterTolerations": tolerations}, fleet, replicas=0)) == expected


def test_previously_scheduled_clusters_pass_the_taint_and_api_filters() -> None:
    fleet = [cluster("a"), cluster("b", taints=[DEDICATED], apis=())]
    resource = ("apps/v1", "Deployment")
    assert place(None, fleet, resource=resource) == {"a": 1}
    assert place(None, fleet, resource=resource, previous=[{"name": "b", "replicas": 1}]) == {"a": 1, "b": 1}
    # ... but not the affinity filter.
    only_a = {"clusterAffinity": {"clusterNames": ["a"]}}
    assert place(only_a, fleet, previous=[{"name": "b", "replicas": 1}]) == {"a": 1}


def test_taint_strings() -> None:
    assert selectors.taint_string(DEDICATED) == "dedicated=ml:NoSchedule"
    assert selectors.taint_string(NOT_READY) == "cluster.karmada.io/not-ready:NoExecute"


# --- APIEnablement, SpreadConstraint, ClusterEviction, deletion -----------------------------------


def test_api_enablement() -> None:
    fleet = [cluster("a"), cluster("b", apis=[("apps/v1", "StatefulSet")])]
    assert place(None, fleet, resource=("apps/v1", "Deployment")) == {"a": 1}
    assert place(None, fleet, resource=None) == {"a": 1, "b": 1}


def test_spread_fields_must_be_present() -> None:
    fleet = [
        cluster("full", provider="p", region="r", zones=["z"]),
        cluster("no-zone", provider="p", region="r"),
        cluster("no-region", provider="p", zones=["z"]),
        cluster("nothing"),
    ]
    placement = {
        "spreadConstraints": [
            {"spreadByField": "cluster", "maxGroups": 9, "minGroups": 1},
            {"spreadByField": "zone", "maxGroups": 9, "minGroups": 1},
        ],
        "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
    }
    assert set(place(placement, fleet)) == {"full", "no-region"}
    why = excluded(placement, fleet)
    assert why == {
        "no-zone": "SpreadConstraint: cluster(s) did not have zones property",
        "nothing": "SpreadConstraint: cluster(s) did not have zones property",
    }


def test_evicted_and_deleting_clusters_are_left_out() -> None:
    fleet = [cluster("a"), cluster("b"), cluster("c", deleting=True)]
    assert place(None, fleet, replicas=2, evicted={"a"}) == {"b": 2}
    assert excluded(None, fleet, replicas=2, evicted={"a"}) == {
        "a": "ClusterEviction: cluster(s) is in the process of eviction",
        "c": "cluster is being deleted",
    }


# --- FitError and the diagnosis --------------------------------------------------------------------


def test_no_cluster_fit_counts_the_first_failing_plugin_of_each_cluster() -> None:
    fleet = [
        cluster("a", taints=[DEDICATED]),
        cluster("b"),
        cluster("c"),
        cluster("d", pods=None, apis=()),
        cluster("e", deleting=True),
    ]
    with pytest.raises(NoFit) as caught:
        schedule(
            ScheduleRequest(
                placement={"clusterAffinity": {"clusterNames": ["a", "d"]}},
                replicas=1,
                clusters=fleet,
                resource=("apps/v1", "Deployment"),
            )
        )
    assert caught.value.reason == "NoClusterFit"
    assert caught.value.message == (
        "0/5 clusters are available: 1 cluster(s) did not have the API resource, "
        "1 cluster(s) had untolerated taint {dedicated=ml:NoSchedule}, "
        "2 cluster(s) did not match the placement cluster affinity constraint."
    )
    assert caught.value.excluded == {
        "a": "TaintToleration: cluster(s) had untolerated taint {dedicated=ml:NoSchedule}",
        "b": "ClusterAffinity: cluster(s) did not match the placement cluster affinity constraint",
        "c": "ClusterAffinity: cluster(s) did not match the placement cluster affinity constraint",
        "d": "APIEnablement: cluster(s) did not have the API resource",
        "e": "cluster is being deleted",
    }


def test_every_cluster_without_replicas_is_explained() -> None:
    placement = {
        "clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}},
        "spreadConstraints": [{"spreadByField": "cluster", "maxGroups": 1, "minGroups": 1}],
        "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
    }
    result = schedule(ScheduleRequest(placement=placement, replicas=2, clusters=FLEET))
    placed = {c["name"] for c in result.clusters}
    assert placed | set(result.excluded) == {c["metadata"]["name"] for c in FLEET}
    assert not placed & set(result.excluded)
    assert result.excluded["st"].startswith("ClusterAffinity: ")
    assert sorted(r for n, r in result.excluded.items() if n in {"bj", "sh", "hz"} - placed) == [
        "not selected by spread constraints",
        "not selected by spread constraints",
    ]


# --- the two forms of matching agree ---------------------------------------------------------------


@pytest.mark.parametrize(
    "affinity",
    [
        {"labelSelector": {"matchLabels": {"env": "prod"}}, "exclude": ["sh"]},
        fields({"key": "zone", "operator": "NotIn", "values": ["e1"]}, {"key": "provider", "operator": "Exists"}),
        {
            "clusterNames": ["st", "bare"],
            "labelSelector": {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]},
        },
    ],
)
def test_masks_agree_with_one_object_matching(affinity: dict[str, Any]) -> None:
    snap = views.snapshot(FLEET)
    by_mask = set(views.pick(snap.names, selectors.affinity_mask(snap, affinity)))
    assert by_mask == {c["metadata"]["name"] for c in FLEET if selectors.cluster_matches(c, affinity)}
