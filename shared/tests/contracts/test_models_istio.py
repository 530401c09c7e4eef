"""Istio VirtualService and DestinationRule models, and weight normalisation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts.models import istio

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]

VS_FILE = "05-virtualservice-user-service.yaml"

# integrations.md 3.3: per-cluster subsets for the seed's VirtualService.
DESTINATION_RULE: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "DestinationRule",
    "metadata": {"name": "user-service", "namespace": "default"},
    "spec": {
        "host": "user-service",
        "trafficPolicy": {
            "loadBalancer": {
                "simple": "ROUND_ROBIN",
                "localityLbSetting": {
                    "enabled": True,
                    "distribute": [{"from": "north-china/*", "to": {"north-china/*": 80, "east-china/*": 20}}],
                },
            },
            "outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s", "baseEjectionTime": "30s"},
        },
        "subsets": [
            {"name": "beijing", "labels": {"topology.istio.io/cluster": "cluster-beijing"}},
            {"name": "shanghai", "labels": {"topology.istio.io/cluster": "cluster-shanghai"}},
            {"name": "guangzhou", "labels": {"topology.istio.io/cluster": "cluster-guangzhou"}},
        ],
    },
}


def test_seed_virtual_service(example: Callable[..., dict[str, Any]]) -> None:
    model = istio.VirtualService.model_validate(example(VS_FILE))
    assert model.spec.http is not None
    assert model.spec.http[0].normalized_weights() == [50, 30, 20]


def test_virtual_service_variants(example: Callable[..., dict[str, Any]], edit: Callable[..., dict[str, Any]]) -> None:
    seed = example(VS_FILE)
    # Weights need not sum to 100 since Istio 1.15.
    istio.VirtualService.model_validate(edit(seed, ("spec.http[0].route[2].weight", 0)))
    # A single destination needs no weight.
    one = edit(seed, ("spec.http[0].route", [{"destination": {"host": "user-service"}}]))
    assert istio.VirtualService.model_validate(one).spec.http[0].normalized_weights() == [100]  # type: ignore[index]
    # Gateway-bound services may use '*'; other route kinds are fine without http.
    istio.VirtualService.model_validate(edit(seed, ("spec.hosts", ["*"]), ("spec.gateways", ["istio-system/gw"])))
    istio.VirtualService.model_validate(
        edit(
            seed,
            ("spec.http", ...),
            ("spec.tcp", [{"route": [{"destination": {"host": "db", "port": {"number": 5432}}}]}]),
        )
    )
    istio.VirtualService.model_validate(edit(seed, ("spec.http[0]", {"redirect": {"uri": "/v2"}})))
    model = istio.VirtualService.model_validate(
        edit(seed, ("spec.http[0].retries", {"attempts": 3}), ("spec.http[0].match", [{"uri": {"prefix": "/api"}}]))
    )
    assert model.to_wire()["spec"]["http"][0]["retries"] == {"attempts": 3}


_R = "spec.http[0].route"

VS_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no hosts", [("spec.hosts", ...)], [("spec.hosts", "FieldValueRequired")]),
    ("empty hosts", [("spec.hosts", [])], [("spec.hosts", "FieldValueRequired")]),
    ("star host on the mesh", [("spec.hosts", ["*"])], [("spec.hosts[0]", "FieldValueInvalid")]),
    (
        "star host with mesh gateway",
        [("spec.hosts", ["*"]), ("spec.gateways", ["mesh", "gw"])],
        [("spec.hosts[0]", "FieldValueInvalid")],
    ),
    ("duplicate host", [("spec.hosts", ["user-service", "user-service"])], [("spec.hosts[1]", "FieldValueDuplicate")]),
    ("wildcard in the middle", [("spec.hosts", ["user.*.svc"])], [("spec.hosts[0]", "FieldValueInvalid")]),
    ("no routes at all", [("spec.http", ...)], [("spec.http", "FieldValueRequired")]),
    ("http route with nothing", [("spec.http[0]", {"name": "empty"})], [("spec.http[0]", "FieldValueRequired")]),
    (
        "route and redirect",
        [("spec.http[0].redirect", {"uri": "/"})],
        [("spec.http[0].redirect", "FieldValueForbidden")],
    ),
    (
        "route and direct response",
        [("spec.http[0].directResponse", {"status": 503})],
        [("spec.http[0].directResponse", "FieldValueForbidden")],
    ),
    (
        "destination without host",
        [(f"{_R}[1].destination.host", ...)],
        [(f"{_R}[1].destination.host", "FieldValueRequired")],
    ),
    ("route without destination", [(f"{_R}[1].destination", ...)], [(f"{_R}[1].destination", "FieldValueRequired")]),
    (
        "destination host star",
        [(f"{_R}[0].destination.host", "*")],
        [(f"{_R}[0].destination.host", "FieldValueInvalid")],
    ),
    (
        "subset not a label",
        [(f"{_R}[0].destination.subset", "Bei_jing")],
        [(f"{_R}[0].destination.subset", "FieldValueInvalid")],
    ),
    ("negative weight", [(f"{_R}[2].weight", -20)], [(f"{_R}[2].weight", "FieldValueInvalid")]),
    (
        "total weight zero",
        [(f"{_R}[0].weight", 0), (f"{_R}[1].weight", 0), (f"{_R}[2].weight", 0)],
        [(_R, "FieldValueInvalid")],
    ),
    (
        "several destinations without weights",
        [(f"{_R}[0].weight", ...), (f"{_R}[1].weight", ...), (f"{_R}[2].weight", ...)],
        [(_R, "FieldValueInvalid")],
    ),
    (
        "single destination weight zero",
        [(_R, [{"destination": {"host": "user-service"}, "weight": 0}])],
        [(_R, "FieldValueInvalid")],
    ),
    (
        "port out of range",
        [(f"{_R}[0].destination.port", {"number": 0})],
        [(f"{_R}[0].destination.port.number", "FieldValueInvalid")],
    ),
    (
        "tls route without match",
        [("spec.tls", [{"route": [{"destination": {"host": "a"}}]}])],
        [("spec.tls[0].match", "FieldValueRequired")],
    ),
    (
        "tcp route without destinations",
        [("spec.tcp", [{"match": [{"port": 1}]}])],
        [("spec.tcp[0].route", "FieldValueRequired")],
    ),
    (
        "mirror and mirrors",
        [("spec.http[0].mirror", {"host": "a"}), ("spec.http[0].mirrors", [])],
        [("spec.http[0].mirrors", "FieldValueForbidden")],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in VS_BROKEN], ids=[c[0] for c in VS_BROKEN])
def test_virtual_service_rejects(
    reject: Reject, example: Callable[..., dict[str, Any]], edits: list[Edit], expected: list[tuple[str, str]]
) -> None:
    assert reject(istio.VirtualService, example(VS_FILE), *edits) == expected


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([50, 30, 20], [50, 30, 20]),
        ([1, 1, 1], [34, 33, 33]),
        ([2, 1], [67, 33]),
        ([60, 40], [60, 40]),
        ([5, 3, 2], [50, 30, 20]),
        ([1, 0, 1], [50, 0, 50]),
        ([None, 3], [0, 100]),
        ([7], [100]),
        ([None], [100]),
        ([1, 1, 1, 1, 1, 1, 1], [15, 15, 14, 14, 14, 14, 14]),
        ([3, 3, 1], [43, 43, 14]),
        ([1, 2, 2], [20, 40, 40]),
        ([333, 333, 334], [33, 33, 34]),
    ],
)
def test_normalize_weights(weights: list[int | None], expected: list[int]) -> None:
    result = istio.normalize_weights(weights)
    assert result == expected
    assert sum(result) == 100


def test_normalize_weights_other_total_and_errors() -> None:
    assert istio.normalize_weights([1, 1, 1], total=10) == [4, 3, 3]
    with pytest.raises(ValueError, match="total destination weight = 0"):
        istio.normalize_weights([0, 0])
    with pytest.raises(ValueError, match="negative"):
        istio.normalize_weights([-1, 5])
    with pytest.raises(ValueError, match="no weights"):
        istio.normalize_weights([])


def test_destination_rule_valid(edit: Callable[..., dict[str, Any]]) -> None:
    model = istio.DestinationRule.model_validate(DESTINATION_RULE)
    assert model.to_wire()["spec"]["trafficPolicy"]["loadBalancer"]["localityLbSetting"]["distribute"][0]["from"] == (
        "north-china/*"
    )
    istio.DestinationRule.model_validate(
        edit(
            DESTINATION_RULE,
            (
                "spec.trafficPolicy.loadBalancer.localityLbSetting",
                {"failover": [{"from": "north-china", "to": "east-china"}]},
            ),
        )
    )
    istio.DestinationRule.model_validate(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": "minimal"},
            "spec": {"host": "reviews"},
        }
    )


_L = "spec.trafficPolicy.loadBalancer.localityLbSetting"

DR_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no host", [("spec.host", ...)], [("spec.host", "FieldValueRequired")]),
    ("empty host", [("spec.host", "")], [("spec.host", "FieldValueRequired")]),
    ("duplicate subset", [("spec.subsets[2].name", "beijing")], [("spec.subsets[2].name", "FieldValueDuplicate")]),
    ("subset not a label", [("spec.subsets[0].name", "Beijing")], [("spec.subsets[0].name", "FieldValueInvalid")]),
    ("subset without name", [("spec.subsets[1].name", ...)], [("spec.subsets[1].name", "FieldValueRequired")]),
    (
        "subset label",
        [("spec.subsets[0].labels", {"topology.istio.io/cluster": "bad value!"})],
        [("spec.subsets[0].labels[topology.istio.io/cluster]", "FieldValueInvalid")],
    ),
    (
        "distribute and failover",
        [(f"{_L}.failover", [{"from": "north-china", "to": "east-china"}])],
        [(f"{_L}.failover", "FieldValueForbidden")],
    ),
    (
        "distribute not 100",
        [(f"{_L}.distribute[0].to", {"north-china/*": 80, "east-china/*": 10})],
        [(f"{_L}.distribute[0].to", "FieldValueInvalid")],
    ),
    (
        "distribute weight zero",
        [(f"{_L}.distribute[0].to", {"north-china/*": 100, "east-china/*": 0})],
        [(f"{_L}.distribute[0].to[east-china/*]", "FieldValueInvalid")],
    ),
    (
        "locality wildcard not last",
        [(f"{_L}.distribute[0].from", "*/zone-a")],
        [(f"{_L}.distribute[0].from", "FieldValueInvalid")],
    ),
    (
        "failover to itself",
        [(f"{_L}.distribute", ...), (f"{_L}.failover", [{"from": "a", "to": "a"}])],
        [(f"{_L}.failover[0].to", "FieldValueInvalid")],
    ),
    (
        "failover with a zone",
        [(f"{_L}.distribute", ...), (f"{_L}.failover", [{"from": "a/z1", "to": "b"}])],
        [(f"{_L}.failover[0].from", "FieldValueInvalid")],
    ),
    (
        "simple and consistent hash",
        [("spec.trafficPolicy.loadBalancer.consistentHash", {"useSourceIp": True})],
        [("spec.trafficPolicy.loadBalancer.consistentHash", "FieldValueForbidden")],
    ),
    (
        "simple enum",
        [("spec.trafficPolicy.loadBalancer.simple", "WEIGHTED")],
        [("spec.trafficPolicy.loadBalancer.simple", "FieldValueNotSupported")],
    ),
    ("empty traffic policy", [("spec.trafficPolicy", {})], [("spec.trafficPolicy", "FieldValueInvalid")]),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in DR_BROKEN], ids=[c[0] for c in DR_BROKEN])
def test_destination_rule_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(istio.DestinationRule, DESTINATION_RULE, *edits) == expected
