"""Karmada kinds the fleet service owns: propagation and override policies, member ``Cluster``s.

The spec parts live in :mod:`~shared.contracts.models.karmada_placement` (selectors,
placement) and :mod:`~shared.contracts.models.karmada_override` (overriders); this module
holds the routed kinds and the rules that need the whole object (policy namespace vs selector
namespace, preemption vs named selectors, failover vs ``propagateDeps``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from shared.contracts import validation
from shared.contracts.meta import KubeObject, PassThrough
from shared.contracts.models import common
from shared.contracts.models.karmada_override import OverrideSpec
from shared.contracts.models.karmada_placement import (
    NormalizedReplicaScheduling,
    Placement,
    ResourceSelector,
)

# --- propagation policies ------------------------------------------------------------------


class ApplicationFailoverBehavior(PassThrough):
    decision_conditions: dict[str, Any] | None = None
    # HEAD Karmada accepts only the new names; Immediately/Graciously were removed in v1.19.
    purge_mode: Literal["Directly", "Gracefully", "Never"] | None = None
    grace_period_seconds: int | None = None
    state_preservation: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> ApplicationFailoverBehavior:
        problems = validation.Problems()
        if self.grace_period_seconds is not None:
            if (self.purge_mode or "Gracefully") != "Gracefully":
                problems.add("gracePeriodSeconds", "only valid when purgeMode is 'Gracefully'", "FieldValueForbidden")
            elif self.grace_period_seconds <= 0:
                problems.add("gracePeriodSeconds", "must be greater than 0")
        problems.raise_if_any()
        return self


class ClusterFailoverBehavior(PassThrough):
    purge_mode: Literal["Directly", "Gracefully"] | None = None
    state_preservation: dict[str, Any] | None = None


class FailoverBehavior(PassThrough):
    application: ApplicationFailoverBehavior | None = None
    cluster: ClusterFailoverBehavior | None = None


class Suspension(PassThrough):
    dispatching: bool | None = None
    dispatching_on_clusters: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> Suspension:
        problems = validation.Problems()
        if self.dispatching is not None and self.dispatching_on_clusters is not None:
            problems.add(
                "dispatchingOnClusters", "may not be specified together with `dispatching`", "FieldValueForbidden"
            )
        problems.raise_if_any()
        return self


class SchedulePriority(PassThrough):
    priority_class_source: Literal["KubePriorityClass"]
    priority_class_name: common.RequiredStr


class PropagationSpec(PassThrough):
    """The ``spec`` shared by ``PropagationPolicy`` and ``ClusterPropagationPolicy``."""

    resource_selectors: list[ResourceSelector]
    placement: Placement | None = None
    propagate_deps: bool | None = None
    dependent_overrides: list[str] | None = None
    priority: int | None = None
    preemption: Literal["Always", "Never"] | None = None
    conflict_resolution: Literal["Abort", "Overwrite"] | None = None
    scheduler_name: str | None = None
    schedule_priority: SchedulePriority | None = None
    suspension: Suspension | None = None
    failover: FailoverBehavior | None = None
    activation_preference: Literal["Lazy"] | None = None
    association: bool | None = None
    preserve_resources_on_deletion: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> PropagationSpec:
        problems = validation.Problems()
        if not self.resource_selectors:
            problems.add("resourceSelectors", "at least one resource selector is required", "FieldValueRequired")
        if self.preemption == "Always":
            for i, selector in enumerate(self.resource_selectors):
                if not selector.name:
                    problems.add(
                        f"resourceSelectors[{i}].name",
                        "every resource selector must name its resource when preemption is 'Always'",
                        "FieldValueRequired",
                    )
        if self.failover is not None and self.failover.application is not None and not self.propagate_deps:
            problems.add("propagateDeps", "application failover is set, propagateDeps must be true")
        problems.raise_if_any()
        return self

    def normalized_replica_scheduling(self) -> NormalizedReplicaScheduling:
        """See :meth:`Placement.normalized_replica_scheduling`."""
        return (self.placement or Placement()).normalized_replica_scheduling()

    def native(self) -> PropagationSpec:
        """This spec as Karmada accepts it (see :meth:`Placement.native`)."""
        if self.placement is None:
            return self
        return self.model_copy(update={"placement": self.placement.native()})


class PropagationPolicy(KubeObject):
    spec: PropagationSpec

    @model_validator(mode="after")
    def _check_namespaces(self) -> PropagationPolicy:
        # A namespaced policy can only select objects in its own namespace. Without a namespace
        # the publisher has not placed the intent yet (kurator apply fills it), so skip.
        problems = validation.Problems()
        own = self.metadata.namespace
        for i, selector in enumerate(self.spec.resource_selectors):
            if own is not None and selector.namespace and selector.namespace != own:
                problems.add(
                    f"spec.resourceSelectors[{i}].namespace",
                    f"must be the policy's own namespace {own!r}, not {selector.namespace!r}",
                )
        problems.raise_if_any()
        return self

    def normalized_replica_scheduling(self) -> NormalizedReplicaScheduling:
        return self.spec.normalized_replica_scheduling()

    def native(self) -> PropagationPolicy:
        """The policy to write to Karmada: Kurator's shorthand rewritten, all else as written."""
        return self.model_copy(update={"spec": self.spec.native()})


class ClusterPropagationPolicy(KubeObject):
    spec: PropagationSpec

    def normalized_replica_scheduling(self) -> NormalizedReplicaScheduling:
        return self.spec.normalized_replica_scheduling()

    def native(self) -> ClusterPropagationPolicy:
        """The policy to write to Karmada: Kurator's shorthand rewritten, all else as written."""
        return self.model_copy(update={"spec": self.spec.native()})


# --- override policies ---------------------------------------------------------------------


class OverridePolicy(KubeObject):
    spec: OverrideSpec


class ClusterOverridePolicy(KubeObject):
    spec: OverrideSpec


# --- member clusters -----------------------------------------------------------------------


class LocalSecretReference(PassThrough):
    namespace: common.RequiredStr
    name: common.RequiredStr


class Taint(PassThrough):
    key: common.RequiredStr
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
    time_added: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Taint:
        problems = validation.Problems()
        common.check_taint(problems, self.key, self.value)
        problems.raise_if_any()
        return self


class ClusterSpec(PassThrough):
    sync_mode: Literal["Push", "Pull"]
    api_endpoint: str | None = None
    secret_ref: LocalSecretReference | None = None
    impersonator_secret_ref: LocalSecretReference | None = None
    insecure_skip_tls_verification: bool | None = Field(default=None, alias="insecureSkipTLSVerification")
    proxy_url: str | None = Field(default=None, alias="proxyURL")
    proxy_header: dict[str, str] | None = None
    provider: str | None = None
    region: str | None = None
    zone: str | None = None
    """Deprecated in Karmada: migrated into ``zones``."""
    zones: list[str] | None = None
    taints: list[Taint] | None = None
    resource_models: list[dict[str, Any]] | None = None
    id: str | None = None

    @model_validator(mode="after")
    def _check(self) -> ClusterSpec:
        problems = validation.Problems()
        endpoint = self.api_endpoint
        if endpoint is not None and (not endpoint.strip() or " " in endpoint):
            problems.add("apiEndpoint", f"invalid apiEndpoint {endpoint!r}: must be a host, host:port or URL")
        elif endpoint is not None and "@" in endpoint.partition("://")[2].partition("/")[0]:
            problems.add("apiEndpoint", "must not contain user information", "FieldValueForbidden")
        common.check_unique(
            problems, ((f"taints[{i}]", (t.key, t.effect)) for i, t in enumerate(self.taints or ())), what="taint"
        )
        problems.raise_if_any()
        return self


class Cluster(KubeObject):
    """A Karmada member cluster (``cluster.karmada.io/v1alpha1``, cluster-scoped).

    The name is a DNS label of at most 48 characters: Karmada reserves 15 for the
    ``karmada-es-`` prefix of the cluster's execution namespace.
    """

    NAME_RULE = "label"
    NAME_MAX_LENGTH = 48

    spec: ClusterSpec
