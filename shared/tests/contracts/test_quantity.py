"""Kubernetes quantity parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.contracts import quantity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500m", Decimal("0.5")),
        ("4Gi", Decimal(4 * 2**30)),
        ("1.5", Decimal("1.5")),
        ("2e3", Decimal(2000)),
        ("2E3", Decimal(2000)),
        ("1e-3", Decimal("0.001")),
        ("1k", Decimal(1000)),
        ("1Ki", Decimal(1024)),
        ("8Mi", Decimal(8 * 2**20)),
        ("1E", Decimal(10**18)),
        ("1Ei", Decimal(2**60)),
        ("0.5Gi", Decimal(2**29)),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("+3", Decimal(3)),
        ("-100m", Decimal("-0.1")),
        ("0", Decimal(0)),
        (2, Decimal(2)),
        (0.25, Decimal("0.25")),
    ],
)
def test_parses(text: str | int | float, expected: Decimal) -> None:
    assert quantity.parse_quantity(text) == expected
    assert quantity.quantity_error(text) is None


@pytest.mark.parametrize("text", ["", "abc", "1K", "1 Gi", "1Gib", "1e", "1.2.3", "Gi", "1ii", "--1", "1e999"])
def test_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="quantit"):
        quantity.parse_quantity(text)
    assert quantity.quantity_error(text) is not None


@pytest.mark.parametrize("value", [True, None, [1], float("nan"), float("inf")])
def test_rejects_non_quantities(value: object) -> None:
    assert quantity.quantity_error(value) is not None


def test_exact_comparisons() -> None:
    # 0.1 + 0.2 style float drift must not leak into capacity sums.
    total = sum((quantity.parse_quantity(q) for q in ("100m", "200m")), Decimal(0))
    assert total == quantity.parse_quantity("300m")
    assert quantity.parse_quantity("1Gi") > quantity.parse_quantity("1G")
