"""The simple JSONPath of CRD ``additionalPrinterColumns`` (``.status.phase``,
``.spec.tasks[0].name``, ``.status.conditions[?(@.type=="Ready")].status``), evaluated to the
list of matches as client-go's jsonpath does for the apiserver's table convertor.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_$-]+)            # .field
      | \[(?P<index>-?\d+|\*)\]                  # [0] or [*]
      | \[['"](?P<quoted>[^'"]+)['"]\]           # ['field.with.dots']
      | \[\?\(@\.(?P<fkey>[A-Za-z0-9_.-]+)\s*(?P<fop>==|!=)\s*['"]?(?P<fval>[^'"\)]*)['"]?\)\]  # filter
      | \.\*                                     # .*
    """,
    re.VERBOSE,
)

Step = tuple[str, Any]


@lru_cache(maxsize=512)
def compile_path(expr: str) -> tuple[Step, ...]:
    expr = expr.strip()
    if expr.startswith("{") and expr.endswith("}"):
        expr = expr[1:-1]
    if expr.startswith("$"):
        expr = expr[1:]
    steps: list[Step] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise ValueError(f"unsupported JSONPath {expr!r} at {pos}")
        if m.group("field") is not None:
            steps.append(("field", m.group("field")))
        elif m.group("quoted") is not None:
            steps.append(("field", m.group("quoted")))
        elif m.group("index") is not None:
            idx = m.group("index")
            steps.append(("all", None) if idx == "*" else ("index", int(idx)))
        elif m.group("fkey") is not None:
            steps.append(("filter", (m.group("fkey").split("."), m.group("fop"), m.group("fval"))))
        else:
            steps.append(("all", None))
        pos = m.end()
    return tuple(steps)


def _lookup(value: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def find(obj: Any, expr: str) -> list[Any]:
    """All values ``expr`` selects in ``obj`` (empty when the path leads nowhere)."""
    current: list[Any] = [obj]
    for kind, arg in compile_path(expr):
        nxt: list[Any] = []
        for value in current:
            if kind == "field":
                if isinstance(value, dict) and arg in value:
                    nxt.append(value[arg])
            elif kind == "index":
                if isinstance(value, list) and -len(value) <= arg < len(value):
                    nxt.append(value[arg])
            elif kind == "all":
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, dict):
                    nxt.extend(value.values())
            elif kind == "filter" and isinstance(value, list):
                keys, op, want = arg
                for item in value:
                    got = _text(_lookup(item, keys))
                    if (got == want) == (op == "=="):
                        nxt.append(item)
        current = nxt
    return current
