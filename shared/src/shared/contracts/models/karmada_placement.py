"""Karmada policy building blocks: resource selectors and ``placement`` (cluster affinity,
tolerations, spread constraints, replica scheduling).

Rules are those of Karmada's validating webhook (integrations.md 6.1, section 7). One
deliberate extension: the seed's ``ClusterPropagationPolicy`` uses a Kurator shorthand for
weighted division (see :class:`ReplicaScheduling`), which :meth:`Placement.normalized_replica_scheduling`
turns into Karmada's native form before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from shared.contracts import validation
from shared.contracts.meta import PassThrough
from shared.contracts.models import common


class ResourceSelector(PassThrough):
    api_version: common.RequiredStr
    kind: common.RequiredStr
    namespace: str | None = None
    name: str | None = None
    """Empty selects every object of the kind (that ``labelSelector`` matches)."""
    label_selector: common.LabelSelector | None = None


# --- cluster affinity ----------------------------------------------------------------------


class FieldSelectorRequirement(PassThrough):
    key: Literal["provider", "region", "zone"]
    operator: Literal["In", "NotIn"]
    values: list[str] | None = None


class FieldSelector(PassThrough):
    match_expressions: list[FieldSelectorRequirement] | None = None


class ClusterAffinity(PassThrough):
    label_selector: common.LabelSelector | None = None
    field_selector: FieldSelector | None = None
    cluster_names: list[str] | None = None
    exclude: list[str] | None = None


class ClusterAffinityTerm(ClusterAffinity):
    """One entry of ``clusterAffinities``: an ordered fallback group with a name."""

    affinity_name: common.RequiredStr
    overflow_affinities: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _check(self) -> ClusterAffinityTerm:
        problems = validation.Problems()
        name = self.affinity_name
        err = "must be no more than 32 characters" if len(name) > 32 else validation.label_key_error(name)
        if err:
            problems.add("affinityName", f"invalid affinityName {name!r}: {err}")
        problems.raise_if_any()
        return self


class Toleration(PassThrough):
    key: str | None = None
    # Karmada rejects the node-only operators Lt and Gt for cluster tolerations.
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None

    @model_validator(mode="after")
    def _check(self) -> Toleration:
        problems = validation.Problems()
        if self.key:
            err = validation.label_key_error(self.key)
            if err:
                problems.add("key", f"invalid toleration key {self.key!r}: {err}")
        elif self.operator != "Exists":
            problems.add(
                "operator", "must be 'Exists' when `key` is empty, which means \"match all values and all keys\""
            )
        if self.operator == "Exists" and self.value:
            problems.add("value", "must be empty when `operator` is 'Exists'", "FieldValueForbidden")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            problems.add("effect", "must be 'NoExecute' when `tolerationSeconds` is set")
        problems.raise_if_any()
        return self


# --- spread constraints --------------------------------------------------------------------


class SpreadConstraint(PassThrough):
    spread_by_field: Literal["cluster", "region", "zone", "provider"] | None = None
    spread_by_label: str | None = None
    max_groups: int | None = Field(default=None, ge=0)
    min_groups: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> SpreadConstraint:
        problems = validation.Problems()
        if self.spread_by_field and self.spread_by_label:
            problems.add("spreadByLabel", "spreadByLabel should not co-exist with spreadByField", "FieldValueForbidden")
        if self.spread_by_label:
            err = validation.label_key_error(self.spread_by_label)
            if err:
                problems.add("spreadByLabel", f"invalid label key {self.spread_by_label!r}: {err}")
        # The webhook defaults minGroups to 1 but leaves maxGroups alone, and the scheduler
        # selects no cluster at all for maxGroups 0: a certain failure, so refuse it up front.
        min_groups = self.min_groups or 1
        if not self.max_groups:
            problems.add(
                "maxGroups", "must be set to at least 1: Karmada selects no cluster otherwise", "FieldValueRequired"
            )
        elif self.max_groups < min_groups:
            problems.add(
                "maxGroups", f"maxGroups ({self.max_groups}) lower than minGroups ({min_groups}) is not allowed"
            )
        problems.raise_if_any()
        return self

    @property
    def effective_field(self) -> str | None:
        """``spreadByField`` as the webhook defaults it (``cluster`` when neither is set)."""
        if self.spread_by_label:
            return None
        return self.spread_by_field or "cluster"


# --- replica scheduling --------------------------------------------------------------------


class StaticClusterWeight(PassThrough):
    target_cluster: ClusterAffinity
    weight: int = Field(ge=1)


class ClusterPreferences(PassThrough):
    static_weight_list: list[StaticClusterWeight] | None = None
    dynamic_weight: Literal["AvailableReplicas"] | None = None

    @model_validator(mode="after")
    def _check(self) -> ClusterPreferences:
        problems = validation.Problems()
        if self.static_weight_list and self.dynamic_weight:
            problems.add(
                "dynamicWeight", "may not be specified together with `staticWeightList`", "FieldValueForbidden"
            )
        problems.raise_if_any()
        return self


class ReplicaScheduling(PassThrough):
    """Karmada's ``ReplicaSchedulingStrategy``, plus Kurator's weighted shorthand.

    Native Karmada: ``replicaSchedulingType`` is ``Duplicated`` or ``Divided``; a Divided
    workload with ``replicaDivisionPreference: Weighted`` takes its weights from
    ``weightPreference.staticWeightList`` (or ``dynamicWeight``).

    Kurator shorthand (the seed's ``frontend-app`` ClusterPropagationPolicy):
    ``replicaSchedulingType: Weighted`` with a top-level ``weightList`` of
    ``{targetCluster, weight}``. It means "Divided, split by these static weights" and is
    rewritten to the native form by :meth:`normalized`. A ``replicaDivisionPreference`` given
    with the shorthand (the seed says ``Aggregated``) cannot be honoured by Karmada together
    with static weights; it is recorded in :class:`NormalizedReplicaScheduling` so the fleet
    service can decide (for example, use it as the tie-break or report it), never dropped
    silently.
    """

    replica_scheduling_type: Literal["Duplicated", "Divided", "Weighted"] | None = None
    replica_division_preference: Literal["Aggregated", "Weighted"] | None = None
    weight_preference: ClusterPreferences | None = None
    weight_list: list[StaticClusterWeight] | None = None

    @model_validator(mode="after")
    def _check(self) -> ReplicaScheduling:
        problems = validation.Problems()
        if self.weight_list is not None and self.replica_scheduling_type != "Weighted":
            problems.add(
                "weightList",
                "weightList is Kurator shorthand and needs `replicaSchedulingType: Weighted`; "
                "with Karmada types use weightPreference.staticWeightList",
                "FieldValueForbidden",
            )
        elif self.weight_list is not None and self.weight_preference is not None:
            problems.add("weightList", "may not be specified together with `weightPreference`", "FieldValueForbidden")
        problems.raise_if_any()
        return self

    def normalized(self) -> NormalizedReplicaScheduling:
        """This strategy in Karmada's native form, with Karmada's defaults applied.

        ``Weighted`` shorthand -> ``Divided`` + ``Weighted`` + ``staticWeightList`` from
        ``weightList``; empty type -> ``Divided`` (CRD default); ``Divided`` without a
        preference -> ``Weighted`` (webhook default). Fields we do not model are kept.
        """
        requested = self.replica_division_preference
        kind = self.replica_scheduling_type or "Divided"
        if kind == "Duplicated":
            return NormalizedReplicaScheduling(self, False, requested)
        if kind == "Weighted":
            weights = self.weight_preference
            if self.weight_list is not None:
                weights = ClusterPreferences(static_weight_list=list(self.weight_list))
            native = self.model_copy(
                update={
                    "replica_scheduling_type": "Divided",
                    "replica_division_preference": "Weighted",
                    "weight_preference": weights,
                    "weight_list": None,
                }
            )
            return NormalizedReplicaScheduling(native, True, requested)
        native = self.model_copy(
            update={"replica_scheduling_type": "Divided", "replica_division_preference": requested or "Weighted"}
        )
        return NormalizedReplicaScheduling(native, False, requested)


@dataclass(frozen=True, slots=True)
class NormalizedReplicaScheduling:
    """The native strategy to write, and what the user asked for that it cannot express."""

    native: ReplicaScheduling
    """Karmada-native: ``Duplicated``, or ``Divided`` with an explicit division preference."""
    from_shorthand: bool
    """The user wrote Kurator's ``replicaSchedulingType: Weighted`` shorthand."""
    requested_division_preference: Literal["Aggregated", "Weighted"] | None
    """``replicaDivisionPreference`` exactly as written (``Aggregated`` in the seed's shorthand)."""


# --- placement -----------------------------------------------------------------------------


class Placement(PassThrough):
    cluster_affinity: ClusterAffinity | None = None
    cluster_affinities: list[ClusterAffinityTerm] | None = None
    cluster_tolerations: list[Toleration] | None = None
    spread_constraints: list[SpreadConstraint] | None = None
    replica_scheduling: ReplicaScheduling | None = None
    workload_affinity: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> Placement:
        problems = validation.Problems()
        if self.cluster_affinity is not None and self.cluster_affinities is not None:
            problems.add(
                "clusterAffinities", "clusterAffinities may not co-exist with clusterAffinity", "FieldValueForbidden"
            )
        common.check_unique(
            problems,
            (
                (f"clusterAffinities[{i}].affinityName", t.affinity_name)
                for i, t in enumerate(self.cluster_affinities or ())
            ),
            what="affinityName",
        )
        constraints = self.spread_constraints or []
        common.check_unique(
            problems,
            (
                (f"spreadConstraints[{i}].spreadByField", c.effective_field)
                for i, c in enumerate(constraints)
                if c.effective_field
            ),
            what="spreadByField",
        )
        fields = {c.effective_field for c in constraints if c.effective_field}
        if fields and "cluster" not in fields:
            problems.add(
                "spreadConstraints",
                "the cluster spread constraint must be enabled in one of the constraints "
                "in case of SpreadByField is enabled",
            )
        problems.raise_if_any()
        return self

    def normalized_replica_scheduling(self) -> NormalizedReplicaScheduling:
        """The replica strategy in Karmada's native form (absent means ``Duplicated``)."""
        if self.replica_scheduling is None:
            return NormalizedReplicaScheduling(ReplicaScheduling(replica_scheduling_type="Duplicated"), False, None)
        return self.replica_scheduling.normalized()

    def native(self) -> Placement:
        """This placement as Karmada accepts it: the Kurator shorthand rewritten, all else as written."""
        if self.replica_scheduling is None or self.replica_scheduling.replica_scheduling_type != "Weighted":
            return self
        return self.model_copy(update={"replica_scheduling": self.replica_scheduling.normalized().native})
