"""CEL validation rules (``x-kubernetes-validations``): recorded, never evaluated.

The simulator does not implement CEL. This module owns reporting what is skipped: every rule
declared in a schema (with a schema-location path, ``[*]`` standing for any list item or map
value) and, per validated object, the rules attached to values that are actually present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kurator_sim.machinery.structural import Node, Rule, compiled


@dataclass(frozen=True, slots=True)
class SkippedRule:
    """A CEL rule that would have run on ``field`` (kube-openapi path) and did not."""

    field: str
    rule: str
    message: str

    def warning(self) -> str:
        """A human-readable note suitable for logs or a Warning header."""
        where = self.field or "<root>"
        return f"{where}: x-kubernetes-validations rule not evaluated by the simulator: {self.rule}"


def skipped(pairs: list[tuple[str, Rule]]) -> list[SkippedRule]:
    """Turn (path, rule) pairs collected during validation into SkippedRule records."""
    return [SkippedRule(field=path, rule=rule.rule, message=rule.message) for path, rule in pairs]


def validation_rules(schema: dict[str, Any]) -> list[SkippedRule]:
    """Every CEL rule declared in ``schema``, located by schema path (``spec.tasks[*]``)."""
    out: list[SkippedRule] = []
    _collect(compiled(schema), "", out, set())
    return out


def _collect(node: Node, path: str, out: list[SkippedRule], active: set[int]) -> None:
    if id(node) in active:  # compiled trees are acyclic, but stay safe against shared nodes
        return
    active.add(id(node))
    out.extend(SkippedRule(field=path, rule=r.rule, message=r.message) for r in node.rules)
    for key, sub in node.properties.items():
        _collect(sub, f"{path}.{key}" if path else key, out, active)
    if node.additional is not None:
        _collect(node.additional, f"{path}[*]", out, active)
    if node.items is not None:
        _collect(node.items, f"{path}[*]", out, active)
    active.discard(id(node))
