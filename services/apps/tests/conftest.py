"""Fixtures for the apps service's domain tests: seed examples and upstream CRD validation.

``crd_causes(obj)`` validates a derived object against its CRD in ``../shared/crds`` the way the
simulator's API server does with ``fieldValidation=Strict`` (unknown fields are causes too);
tests using it are skipped when the CRD directory is absent.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES = Path(__file__).parents[3] / "examples"
CRDS = Path(__file__).parents[4] / "shared" / "crds"
Obj = dict[str, Any]


@cache
def _example(name: str) -> tuple[Obj, ...]:
    return tuple(d for d in yaml.safe_load_all((EXAMPLES / name).read_text(encoding="utf-8")) if d)


@pytest.fixture
def example() -> Callable[..., Obj]:
    """The ``index``-th document of a seed example file (a fresh copy)."""

    def load(name: str, index: int = 0) -> Obj:
        return copy.deepcopy(_example(name)[index])

    return load


@cache
def _schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    from kurator_sim.machinery.crds import load_crds

    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for sub in ("istio", "volcano", "karmada"):
        for crd in load_crds(CRDS / sub):
            for version in crd.versions:
                if version.schema is not None:
                    found[(crd.group, version.name, crd.kind)] = version.schema
    return found


@pytest.fixture
def crd_causes() -> Callable[[Obj], list[str]]:
    """``crd_causes(obj)`` -> the strict-validation causes of ``obj`` against its CRD (empty: valid)."""
    if not CRDS.is_dir():
        pytest.skip("../shared/crds is not present")
    from kurator_sim.machinery.schema import validate_write

    def check(obj: Obj) -> list[str]:
        group, _, version = str(obj["apiVersion"]).rpartition("/")
        schema = _schemas()[(group, version, str(obj["kind"]))]
        _, causes, _ = validate_write(copy.deepcopy(obj), schema, strict=True)
        return [str(c) for c in causes]

    return check
