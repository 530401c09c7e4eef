"""A pod's effective request, resource sums and canonical quantity text."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.gang import resources


def test_requests_default_from_limits_and_count_one_pod() -> None:
    spec = {
        "containers": [
            {"name": "a", "resources": {"limits": {"cpu": "2", "memory": "8Gi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "500m"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
        ]
    }
    assert resources.pod_requests(spec) == {
        "cpu": Decimal("2.5"),
        "memory": Decimal(9 * 2**30),
        "pods": Decimal(1),
    }


def test_init_containers_sidecars_and_overhead() -> None:
    spec: dict[str, Any] = {
        "initContainers": [
            {"name": "mesh", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m"}}},
            {"name": "migrate", "resources": {"requests": {"cpu": "4", "memory": "1Gi"}}},
            {"name": "log", "restartPolicy": "Always", "resources": {"requests": {"cpu": "200m"}}},
        ],
        "containers": [{"name": "app", "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}}],
        "overhead": {"cpu": "50m"},
    }
    requests = resources.pod_requests(spec)
    # cpu: max(app 1 + sidecars 0.3, migrate 4 + the sidecar started before it 0.1) + overhead 0.05;
    # memory: max(app 2Gi, migrate 1Gi).
    assert requests["cpu"] == Decimal("4.15")
    assert requests["memory"] == Decimal(2 * 2**30)
    # Once the sidecars outweigh the init containers, they count in full.
    spec["initContainers"][1]["resources"]["requests"]["cpu"] = "500m"
    assert resources.pod_requests(spec)["cpu"] == Decimal("1.35")


def test_a_pod_without_resources_still_takes_a_pod_slot() -> None:
    assert resources.pod_requests({"containers": [{"name": "x"}]}) == {"pods": Decimal(1)}
    assert resources.pod_requests(None) == {"pods": Decimal(1)}


def test_zero_requests_are_dropped_and_garbage_is_skipped() -> None:
    spec = {"containers": [{"name": "x", "resources": {"requests": {"nvidia.com/gpu": "0", "cpu": "lots"}}}]}
    assert resources.pod_requests(spec) == {"pods": Decimal(1)}
    assert resources.parse_list({"cpu": "1", "memory": "??"}) == {"cpu": Decimal(1)}


def test_limits_sum() -> None:
    spec = {"containers": [{"resources": {"limits": {"cpu": "1"}}}, {"resources": {"limits": {"cpu": "500m"}}}]}
    assert resources.pod_limits(spec) == {"cpu": Decimal("1.5")}


def test_arithmetic() -> None:
    a = {"cpu": Decimal(4), "memory": Decimal(10)}
    b = {"cpu": Decimal(1), "nvidia.com/gpu": Decimal(2)}
    assert resources.add(a, b) == {"cpu": Decimal(5), "memory": Decimal(10), "nvidia.com/gpu": Decimal(2)}
    assert resources.subtract(a, b) == {"cpu": Decimal(3), "memory": Decimal(10), "nvidia.com/gpu": Decimal(-2)}
    assert resources.total([a, b, b]) == {"cpu": Decimal(6), "memory": Decimal(10), "nvidia.com/gpu": Decimal(4)}
    assert resources.shortages({"cpu": Decimal(5), "memory": Decimal(1)}, a) == {"cpu": Decimal(1)}
    assert resources.shortages(b, a) == {"nvidia.com/gpu": Decimal(2)}


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("cpu", Decimal("0.5"), "500m"),
        ("cpu", Decimal(4), "4"),
        ("cpu", Decimal(2000), "2k"),
        ("cpu", Decimal("0.0005"), "500u"),
        ("memory", Decimal(20 * 2**30), "20Gi"),
        ("memory", Decimal(1000), "1000"),
        ("hugepages-2Mi", Decimal(2 * 2**20), "2Mi"),
        ("nvidia.com/gpu", Decimal(0), "0"),
        ("nvidia.com/gpu", Decimal(-3), "-3"),
    ],
)
def test_format_quantity(name: str, value: Decimal, text: str) -> None:
    assert resources.format_quantity(name, value) == text


def test_format_list_is_sorted() -> None:
    assert list(resources.format_list({"pods": Decimal(1), "cpu": Decimal(1)})) == ["cpu", "pods"]
