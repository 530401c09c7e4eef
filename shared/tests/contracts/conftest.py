"""Helpers for model tests: load seed examples, edit documents by path, collect rejection reasons.

Paths use the same syntax as :class:`shared.contracts.validation.Reason` fields
(``spec.tasks[1].name``, ``spec.labels[kubernetes.io/os]``). An edit ``(path, ...)`` (the
Ellipsis) deletes the field; any other value replaces it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from shared.contracts import validation

EXAMPLES = Path(__file__).parents[3] / "examples"

_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[([^\]]+)\]")

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]


def _tokens(path: str) -> list[str | int]:
    out: list[str | int] = []
    for match in _TOKEN.finditer(path):
        name, bracket = match.groups()
        if bracket is not None:
            out.append(int(bracket) if bracket.isdigit() else bracket)
        else:
            out.append(name)
    return out


def apply_edits(doc: dict[str, Any], *edits: Edit) -> dict[str, Any]:
    result = copy.deepcopy(doc)
    for path, value in edits:
        *parents, last = _tokens(path)
        node: Any = result
        for token in parents:
            if isinstance(token, str) and token not in node:
                node[token] = {}
            node = node[token]
        if value is ...:
            del node[last]
        else:
            node[last] = copy.deepcopy(value)
    return result


def load_examples(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((EXAMPLES / name).read_text(encoding="utf-8")) if doc]


@pytest.fixture
def example() -> Callable[[str], dict[str, Any]]:
    """The first (or ``index``-th) document of an example file."""

    def load(name: str, index: int = 0) -> dict[str, Any]:
        return load_examples(name)[index]

    return load


@pytest.fixture
def edit() -> Callable[..., dict[str, Any]]:
    return apply_edits


@pytest.fixture
def reject() -> Reject:
    """``reject(Model, doc, *edits)`` -> the ``(field, reason)`` pairs of the rejection."""

    def run(model: type[BaseModel], doc: dict[str, Any], *edits: Edit) -> list[tuple[str, str]]:
        with pytest.raises(ValidationError) as info:
            model.model_validate(apply_edits(doc, *edits))
        return [(r.field, r.reason) for r in validation.reasons_from(info.value)]

    return run
