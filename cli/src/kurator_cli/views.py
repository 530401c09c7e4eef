"""How objects are shown: tables like ``kubectl get``, or YAML/JSON documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import yaml
from rich.console import Console
from rich.table import Table

from shared.contracts import kinds


def age(timestamp: str | None, *, now: datetime | None = None) -> str:
    """kubectl's short age: ``45s``, ``12m``, ``3h``, ``5d``."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _status(doc: dict[str, Any]) -> dict[str, Any]:
    status = doc.get("status")
    return status if isinstance(status, dict) else {}


def _message(doc: dict[str, Any]) -> str:
    for cond in _status(doc).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("message"):
            return str(cond["message"])
    return ""


def row(doc: dict[str, Any], *, with_namespace: bool) -> list[str]:
    meta = doc.get("metadata") or {}
    status = _status(doc)
    cells = [str(meta.get("name", ""))]
    if with_namespace:
        cells.insert(0, str(meta.get("namespace") or ""))
    cells += [
        str(status.get("phase") or ""),
        str(status.get("observedGeneration") or meta.get("generation") or ""),
        age(meta.get("creationTimestamp")),
        _message(doc),
    ]
    return cells


def table(docs: Sequence[dict[str, Any]], *, with_namespace: bool, title: str | None = None) -> Table:
    t = Table(box=None, show_edge=False, pad_edge=False, header_style="bold", title=title, title_justify="left")
    if with_namespace:
        t.add_column("NAMESPACE", no_wrap=True)
    for name in ("NAME", "PHASE", "GENERATION", "AGE", "MESSAGE"):
        t.add_column(name, no_wrap=True)
    for doc in docs:
        t.add_row(*row(doc, with_namespace=with_namespace))
    return t


def document(docs: Sequence[dict[str, Any]], *, fmt: str, single: bool) -> str:
    """YAML or JSON of one object, or of a ``List`` of them (as kubectl prints)."""
    body: Any = docs[0] if single and docs else {"apiVersion": "v1", "kind": "List", "items": list(docs)}
    if fmt == "json":
        return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()
    return yaml.safe_dump(body, sort_keys=False)


def watch_line(info: kinds.KindInfo, doc: dict[str, Any], *, now: datetime | None = None) -> list[str]:
    meta = doc.get("metadata") or {}
    status = _status(doc)
    when = (now or datetime.now(UTC)).strftime("%H:%M:%S")
    ns = meta.get("namespace")
    name = f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))
    return [when, info.singular, name, str(status.get("phase") or ""), str(status.get("observedGeneration") or "")]


def print_watch(console: Console, cells: list[str]) -> None:
    console.print("  ".join(f"{c:<{w}}" for c, w in zip(cells, (8, 26, 44, 12, 4), strict=True)), highlight=False)
