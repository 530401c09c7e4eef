"""Label and field selectors, parsed as the API server parses ``labelSelector``/``fieldSelector``.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``,
comma-separated (AND). Field selectors: ``metadata.name=x``, ``metadata.namespace!=y``, plus
a few kind-specific fields (``spec.nodeName``, ``status.phase``, ``type``, ``involvedObject.*``)
addressed as dotted paths into the object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kurator_sim import errors

Matcher = Callable[[dict[str, Any]], bool]

_SET_EXPR = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        return not present or value not in self.values  # notin


def _split_top_level(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_labels(selector: str | None) -> list[Requirement]:
    if not selector:
        return []
    out = []
    for part in _split_top_level(selector):
        for op in ("!=", "==", "="):
            if op in part and "(" not in part:
                key, _, value = part.partition(op)
                out.append(Requirement(key.strip(), "!=" if op == "!=" else "=", (value.strip(),)))
                break
        else:
            m = _SET_EXPR.match(part)
            if not m:
                raise errors.bad_request(f"unable to parse requirement: found '{part}', expected: identifier")
            neg, key, op, values = m.groups()
            if op:
                out.append(Requirement(key, op, tuple(v.strip() for v in values.split(",") if v.strip())))
            else:
                out.append(Requirement(key, "!" if neg else "exists"))
    return out


def label_matcher(selector: str | None) -> Matcher | None:
    reqs = parse_labels(selector)
    if not reqs:
        return None

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return match


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_matcher(selector: str | None) -> Matcher | None:
    if not selector:
        return None
    terms: list[tuple[str, bool, str]] = []
    for part in _split_top_level(selector):
        for op in ("!=", "==", "="):
            if op in part:
                key, _, value = part.partition(op)
                terms.append((key.strip(), op == "!=", value.strip()))
                break
        else:
            raise errors.bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")

    def match(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, key) == value) != negate for key, negate, value in terms)

    return match


def combine(*matchers: Matcher | None) -> Matcher | None:
    active = [m for m in matchers if m is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(m(obj) for m in active)
