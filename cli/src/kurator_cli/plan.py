"""``kurator plan``: preview where Karmada would place a workload, and why not elsewhere.

Reads Karmada-native YAML (a ``PropagationPolicy`` or ``ClusterPropagationPolicy`` and the
workload it selects, from files, directories or stdin), the member ``Cluster`` objects from
``--clusters`` (else the live fleet answers on ``kurator.query.fleet.plan``) and optionally
the binding's current placement (``--previous``: a ``ResourceBinding`` or its
``spec.clusters``). The planning itself is :func:`shared.placement.plan.plan`, the same code
the fleet service runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml
from nats.aio.client import Client
from rich.console import Console
from rich.table import Table

from kurator_cli import manifests
from shared.bus import queries
from shared.contracts.plan import PlanRequest, PlanResponse, TargetCluster
from shared.placement import plan as planning

POLICY_KINDS = ("PropagationPolicy", "ClusterPropagationPolicy")
BINDING_KINDS = ("ResourceBinding", "ClusterResourceBinding")
CLUSTER_API = "cluster.karmada.io/v1alpha1"


class PlanInputError(ValueError):
    """The input files do not make one plan request; the message says why."""


@dataclass
class Inputs:
    policy: dict[str, Any] | None = None
    workloads: list[dict[str, Any]] = field(default_factory=list)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    bindings: list[Any] = field(default_factory=list)


def _sort(docs: Sequence[tuple[str, Any]], into: Inputs) -> None:
    for source, doc in docs:
        if isinstance(doc, list):  # a bare spec.clusters list
            into.bindings.append(doc)
            continue
        if not isinstance(doc, dict):
            raise PlanInputError(f"{source}: not an object")
        kind = doc.get("kind")
        if kind in POLICY_KINDS:
            if into.policy is not None:
                raise PlanInputError(f"{source}: one policy at a time, and one was given already")
            into.policy = doc
        elif kind == "Cluster" and doc.get("apiVersion") == CLUSTER_API:
            into.clusters.append(doc)
        elif kind in BINDING_KINDS or (kind is None and "clusters" in doc):
            into.bindings.append(doc)
        else:
            into.workloads.append(doc)


def _read(paths: list[str]) -> list[tuple[str, Any]]:
    try:
        return manifests.read(paths)
    except manifests.ManifestError as exc:
        raise PlanInputError(str(exc)) from exc


def _previous(found: Sequence[Any]) -> tuple[list[TargetCluster] | None, str, list[str]]:
    """``(spec.clusters, observed affinity name, evicted clusters)`` of the previous binding."""
    if not found:
        return None, "", []
    if len(found) > 1:
        raise PlanInputError("--previous: give one ResourceBinding or one spec.clusters list")
    doc = found[0]
    if isinstance(doc, list):
        entries, affinity, evicted = doc, "", []
    else:
        spec = doc.get("spec") if doc.get("kind") in BINDING_KINDS else doc
        spec = spec or {}
        entries = spec.get("clusters") or []
        affinity = str((doc.get("status") or {}).get("schedulerObservingAffinityName") or "")
        evicted = [str(t.get("fromCluster")) for t in spec.get("gracefulEvictionTasks") or () if t.get("fromCluster")]
    try:
        return [TargetCluster.model_validate(e) for e in entries], affinity, evicted
    except ValueError as exc:
        raise PlanInputError(f"--previous: not a list of {{name, replicas}}: {exc}") from exc


def _workload(inputs: Inputs) -> dict[str, Any] | None:
    if len(inputs.workloads) <= 1:
        return inputs.workloads[0] if inputs.workloads else None
    assert inputs.policy is not None
    chosen = [w for w in inputs.workloads if planning.selects(inputs.policy, w)]
    if len(chosen) != 1:
        names = ", ".join(f"{w.get('kind')}/{(w.get('metadata') or {}).get('name')}" for w in inputs.workloads)
        raise PlanInputError(f"give the one workload the policy selects; found {names}")
    return chosen[0]


def build_request(
    files: list[str], *, clusters_file: str | None, previous_file: str | None, reschedule: bool
) -> PlanRequest:
    """The plan request the files describe (``clusters`` is ``None``: ask the live fleet)."""
    inputs = Inputs()
    _sort(_read(files), inputs)
    if inputs.policy is None:
        raise PlanInputError("no PropagationPolicy or ClusterPropagationPolicy in the input")
    if clusters_file:
        extra = Inputs()
        _sort(_read([clusters_file]), extra)
        if not extra.clusters:
            raise PlanInputError(f"{clusters_file}: no {CLUSTER_API} Cluster objects")
        inputs.clusters += extra.clusters
    if previous_file:
        _sort(_read([previous_file]), prev := Inputs())
        inputs.bindings += prev.bindings
    previous, affinity, evicted = _previous(inputs.bindings)
    return PlanRequest(
        policy=inputs.policy,
        workload=_workload(inputs),
        clusters=inputs.clusters or None,
        previous=previous,
        reschedule=reschedule,
        observed_affinity_name=affinity,
        evicted_clusters=evicted,
    )


def run_local(request: PlanRequest) -> PlanResponse:
    """Plan over the request's own clusters."""
    return planning.plan(request, request.clusters or [])


async def ask_fleet(nc: Client, request: PlanRequest, *, timeout_seconds: float) -> PlanResponse:
    """Ask the fleet service to plan over the live fleet."""
    body = request.model_dump(by_alias=True, exclude_none=True)
    answer = await queries.ask(nc, service="fleet", op="plan", body=body, timeout_seconds=timeout_seconds)
    return PlanResponse.model_validate(answer)


# --- output --------------------------------------------------------------------------------


def document(response: PlanResponse, fmt: str) -> str:
    body = response.model_dump(by_alias=True, exclude_none=True)
    body["clusters"] = [{k: v for k, v in c.items() if v is not None} for c in body.get("clusters") or ()]
    if fmt == "json":
        return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()
    return yaml.safe_dump(body, sort_keys=False)


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    t = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    for name in columns:
        t.add_column(name, no_wrap=name != "REASON")
    for row in rows:
        t.add_row(*row)
    return t


def print_tables(out: Console, err: Console, response: PlanResponse) -> None:
    """The placement, then every cluster left out and why; notes and errors go to ``err``."""
    for note in response.notes:
        err.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    if response.error is not None:
        err.print(f"[red]error:[/red] {response.error.reason}: {response.error.message}", highlight=False)
    if response.clusters:
        rows = [(c.name, "-" if c.replicas is None else str(c.replicas)) for c in response.clusters]
        out.print(_table(("CLUSTER", "REPLICAS"), rows))
    if response.affinity_name:
        out.print(f"clusterAffinities term: {response.affinity_name}", highlight=False)
    if response.excluded:
        out.print()
        out.print(_table(("LEFT OUT", "REASON"), sorted(response.excluded.items())))
