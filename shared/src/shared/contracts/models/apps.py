"""Kurator application kinds the apps service owns: ``FederatedDeployment`` and ``Application``.

``FederatedDeployment`` is the seed's kind (upstream Kurator has none): a Deployment template
plus a placement, which the apps service turns into a Deployment and a Karmada propagation
intent for the fleet service. ``Application`` is upstream Kurator's GitOps application
(kurator-upstream.md 3.1, 3.2); its Flux parts live in :mod:`~shared.contracts.models.flux`.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.contracts import validation
from shared.contracts.meta import KubeObject, PassThrough, WireModel
from shared.contracts.models import common, flux, workloads

# --- FederatedDeployment -------------------------------------------------------------------

# Karmada member cluster names are DNS labels of at most 48 characters.
_CLUSTER_NAME_MAX = 48


class PlacementCluster(WireModel):
    name: common.RequiredStr
    replicas: int | None = Field(default=None, ge=0)


class PlacementWeight(WireModel):
    """One weight rule: the clusters it covers (by ``names`` or ``clusterSelector``) and a weight."""

    names: list[str] | None = None
    cluster_selector: common.LabelSelector | None = None
    weight: int = Field(ge=1)

    @model_validator(mode="after")
    def _check(self) -> PlacementWeight:
        problems = validation.Problems()
        common.exactly_one(
            problems, "", {"names": self.names is not None, "clusterSelector": self.cluster_selector is not None}
        )
        for i, name in enumerate(self.names or ()):
            common.check_dns_label(problems, f"names[{i}]", name, what="cluster name", max_length=_CLUSTER_NAME_MAX)
        problems.raise_if_any()
        return self


class FederatedPlacement(WireModel):
    """Where the Deployment runs: an explicit cluster list, or the clusters a label selector picks.

    * ``clusters: [{name, replicas}]`` (the seed). Either every entry sets ``replicas`` (each
      cluster runs exactly that many; they must add up to ``template.spec.replicas`` when that
      is set) or none does (every listed cluster runs ``template.spec.replicas``).
    * ``clusterSelector`` (a label selector over member clusters), optionally with ``weights``:
      without weights every selected cluster runs ``template.spec.replicas`` (Karmada
      Duplicated); with weights, ``template.spec.replicas`` is divided by them (Karmada Divided
      with a static weight list; a selected cluster no rule covers gets nothing).
    """

    clusters: list[PlacementCluster] | None = None
    cluster_selector: common.LabelSelector | None = None
    weights: list[PlacementWeight] | None = None

    @model_validator(mode="after")
    def _check(self) -> FederatedPlacement:
        problems = validation.Problems()
        common.exactly_one(
            problems, "", {"clusters": self.clusters is not None, "clusterSelector": self.cluster_selector is not None}
        )
        clusters = self.clusters or []
        if self.clusters is not None and not clusters:
            problems.add("clusters", "at least one cluster is required", "FieldValueRequired")
        for i, cluster in enumerate(clusters):
            common.check_dns_label(
                problems, f"clusters[{i}].name", cluster.name, what="cluster name", max_length=_CLUSTER_NAME_MAX
            )
        common.check_unique(problems, ((f"clusters[{i}].name", c.name) for i, c in enumerate(clusters)), what="cluster")
        with_replicas = [c.replicas is not None for c in clusters]
        if any(with_replicas) and not all(with_replicas):
            first = with_replicas.index(False)
            problems.add(
                f"clusters[{first}].replicas",
                "set replicas on every cluster or on none (then each cluster runs template.spec.replicas)",
                "FieldValueRequired",
            )
        if self.weights is not None and self.cluster_selector is None:
            problems.add(
                "weights", "weights need `clusterSelector`; with `clusters` set replicas", "FieldValueForbidden"
            )
        problems.raise_if_any()
        return self

    @property
    def explicit_replicas(self) -> dict[str, int] | None:
        """``{cluster: replicas}`` when every listed cluster sets its replicas, else ``None``."""
        clusters = self.clusters or []
        if not clusters or any(c.replicas is None for c in clusters):
            return None
        return {c.name: c.replicas or 0 for c in clusters}


class TemplateMeta(PassThrough):
    """Labels and annotations for the generated Deployment."""

    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None

    @model_validator(mode="after")
    def _check(self) -> TemplateMeta:
        problems = validation.Problems()
        validation.check_labels(problems, "labels", self.labels)
        problems.raise_if_any()
        return self


class FederatedTemplate(WireModel):
    metadata: TemplateMeta | None = None
    spec: workloads.DeploymentSpec


class FederatedDeploymentSpec(WireModel):
    template: FederatedTemplate
    placement: FederatedPlacement

    @model_validator(mode="after")
    def _check(self) -> FederatedDeploymentSpec:
        problems = validation.Problems()
        total = self.template.spec.replicas
        explicit = self.placement.explicit_replicas
        if total is not None and explicit is not None and sum(explicit.values()) != total:
            problems.add(
                "placement.clusters",
                f"the clusters' replicas add up to {sum(explicit.values())}, but template.spec.replicas is {total}",
            )
        problems.raise_if_any()
        return self


class FederatedDeployment(KubeObject):
    spec: FederatedDeploymentSpec


# --- Application ---------------------------------------------------------------------------


class ApplicationSpec(WireModel):
    source: flux.ApplicationSource
    sync_policies: list[flux.ApplicationSyncPolicy]
    destination: flux.ApplicationDestination | None = None
    """The default for policies without their own destination."""

    @model_validator(mode="after")
    def _check(self) -> ApplicationSpec:
        problems = validation.Problems()
        if not self.sync_policies:
            problems.add("syncPolicies", "at least one sync policy is required", "FieldValueRequired")
        self._check_flux_combinations(problems)
        # One fleet per application (upstream webhook): spec.destination's, else the first policy's.
        fleet = self.destination.fleet if self.destination else None
        for i, policy in enumerate(self.sync_policies):
            if policy.destination is None:
                continue
            if fleet is None:
                fleet = policy.destination.fleet
            elif policy.destination.fleet != fleet:
                problems.add(
                    f"syncPolicies[{i}].destination.fleet",
                    f"an application deploys to one fleet: expected {fleet!r}, got {policy.destination.fleet!r}",
                )
        problems.raise_if_any()
        return self

    def _check_flux_combinations(self, problems: validation.Problems) -> None:
        # What Flux would refuse once rendered (kurator-upstream.md 3.3), caught before anything is recorded.
        source = self.source.kind
        helm_repository = self.source.helm_repository
        if helm_repository is not None and helm_repository.interval is None:
            message = "Required value: Flux's source API needs the interval to check the repository at"
            problems.add("source.helmRepository.interval", message, "FieldValueRequired")
        for i, policy in enumerate(self.sync_policies):
            if policy.kustomization is not None and source not in flux.KUSTOMIZATION_SOURCES:
                message = f"a kustomization policy needs a gitRepository or ociRepository source, not a {source}"
                problems.add(f"syncPolicies[{i}].kustomization", message, "FieldValueForbidden")
            if policy.helm is None:
                continue
            if source not in flux.HELM_SOURCES:
                message = f"a helm policy needs a helmRepository or gitRepository source, not an {source}"
                problems.add(f"syncPolicies[{i}].helm", message, "FieldValueForbidden")
            elif not isinstance(spec := (policy.helm.chart or {}).get("spec"), dict) or not spec.get("chart"):
                message = "Required value: the chart's name (or path in the Git repository)"
                problems.add(f"syncPolicies[{i}].helm.chart.spec.chart", message, "FieldValueRequired")

    @property
    def fleet(self) -> str | None:
        """The one fleet this application deploys to (``None``: the host cluster itself)."""
        if self.destination is not None:
            return self.destination.fleet
        return next((p.destination.fleet for p in self.sync_policies if p.destination), None)


class Application(KubeObject):
    spec: ApplicationSpec

    def policy_names(self) -> list[str]:
        """Each sync policy's name, defaulted to ``<application>-<index>`` like upstream."""
        return [p.name or f"{self.metadata.name}-{i}" for i, p in enumerate(self.spec.sync_policies)]

    @model_validator(mode="after")
    def _check_policy_names(self) -> Application:
        problems = validation.Problems()
        common.check_unique(
            problems,
            ((f"spec.syncPolicies[{i}].name", n) for i, n in enumerate(self.policy_names())),
            what="sync policy name (after defaulting)",
        )
        problems.raise_if_any()
        return self
