"""Intents that are Karmada objects themselves: propagation and override policies and resource
templates (``Deployment``), written to Karmada in native form and deleted with the intent.

Two intents are not native as written, and are rewritten before they are applied:

* Kurator's weighted shorthand (the seed's ``frontend-app`` ClusterPropagationPolicy:
  ``replicaSchedulingType: Weighted`` + ``weightList``) becomes ``Divided`` + ``Weighted``
  with ``weightPreference.staticWeightList`` (``PropagationSpec.native``). The seed also asks
  for ``replicaDivisionPreference: Aggregated``, which Karmada cannot combine with static
  weights: with ``Aggregated`` it ignores ``weightPreference`` and packs the replicas into as
  few clusters as can hold them. We honour the weights and drop ``Aggregated``, because the
  60/40 split is the explicit, specific part of the request (the weights were typed out
  cluster by cluster) while ``Aggregated`` is a general preference that would silently
  discard it, and would usually put a frontend on one cluster only. The status says so in a
  ``ShorthandConverted`` condition (reason ``AggregatedPreferenceDropped``) rather than
  dropping it silently.
* A ``Deployment`` without ``selector`` (the seed's controller manager) gets the selector and
  template labels ``apps/v1`` requires (``Deployment.completed``); a ``TemplateCompleted``
  condition says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kurator_fleet import failures, ownership, ports, statuses
from shared.bus import store
from shared.contracts.meta import KubeObject
from shared.contracts.models import karmada, workloads
from shared.contracts.models.karmada_placement import NormalizedReplicaScheduling


@dataclass(frozen=True, slots=True)
class Rendered:
    """The object to write for an intent, and what the status should say about the rewrite."""

    body: dict[str, Any]
    notes: Sequence[tuple[str, str, str]] = field(default=())
    """``(condition type, reason, message)`` of each rewrite, reported as a True condition."""


Render = Callable[[KubeObject], Rendered]


def shorthand_notes(normalized: NormalizedReplicaScheduling) -> list[tuple[str, str, str]]:
    """The ``ShorthandConverted`` note when Kurator's weighted shorthand was rewritten."""
    if not normalized.from_shorthand:
        return []
    prefs = normalized.native.weight_preference
    weights = ", ".join(
        f"{'+'.join(w.target_cluster.cluster_names or ['(by selector)'])}: {w.weight}"
        for w in (prefs.static_weight_list if prefs is not None else None) or ()
    )
    written = (
        "replicaSchedulingType: Weighted with weightList was written as Karmada's Divided + "
        f"replicaDivisionPreference: Weighted with weightPreference.staticWeightList ({weights})"
    )
    if normalized.requested_division_preference == "Aggregated":
        return [
            (
                "ShorthandConverted",
                "AggregatedPreferenceDropped",
                f"{written}. replicaDivisionPreference: Aggregated was dropped: Karmada applies static weights "
                "only with the Weighted preference; with Aggregated it would ignore the weights and pack the "
                "replicas into as few clusters as fit, losing the split asked for.",
            )
        ]
    return [("ShorthandConverted", "WeightedShorthandConverted", written)]


def render_policy(obj: KubeObject) -> Rendered:
    assert isinstance(obj, karmada.PropagationPolicy | karmada.ClusterPropagationPolicy)
    return Rendered(obj.native().to_wire(), shorthand_notes(obj.normalized_replica_scheduling()))


def render_as_written(obj: KubeObject) -> Rendered:
    return Rendered(obj.to_wire())


def render_deployment(obj: KubeObject) -> Rendered:
    assert isinstance(obj, workloads.Deployment)
    doc = obj.to_wire()
    spec = doc["spec"]
    if spec.get("selector") and (spec["template"].get("metadata") or {}).get("labels"):
        # Already apps/v1-valid: completing it would only validate the same document again
        # (about a millisecond of pydantic per Deployment, the bulk of a template's write).
        return Rendered(doc)
    completed = obj.completed()
    meta = obj.spec.template.metadata
    if obj.spec.selector is not None and meta is not None and meta.labels is not None:
        return Rendered(completed.to_wire())
    labels = completed.spec.template.labels
    note = (
        "TemplateCompleted",
        "SelectorDefaulted",
        f"apps/v1 requires spec.selector and matching template labels: both set to {labels}",
    )
    return Rendered(completed.to_wire(), [note])


class KarmadaObjectHandler:
    """Applies the intent's object (as ``render`` makes it) to Karmada; deletes it on delete."""

    def __init__(self, *, karmada: ports.Karmada, render: Render) -> None:
        self._karmada = karmada
        self._render = render

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        rendered = self._render(obj)
        ref = ports.ObjectRef.of(rendered.body)
        # The object is the intent's document, so Karmada's field paths are the intent's too.
        with failures.writing(ref.display()):
            await self._karmada.apply(rendered.body)
        notes = [
            statuses.condition(record, type=type_, ok=True, reason=reason, message=message)
            for type_, reason, message in rendered.notes
        ]
        return statuses.applied(record, written=[ref], field_manager=ownership.MANAGER, conditions=notes)

    async def on_delete(self, record: store.Record) -> None:
        ref = ports.ObjectRef.of(record.document)
        with failures.writing(ref.display()):
            await self._karmada.delete(ref)
