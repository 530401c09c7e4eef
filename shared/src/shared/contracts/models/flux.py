"""The parts of a Kurator ``Application`` that are Flux specs: sources and sync policies.

Upstream Kurator copies these into Flux ``GitRepository``/``HelmRepository``/``OCIRepository``,
``Kustomization`` and ``HelmRelease`` objects verbatim (kurator-upstream.md 3.1), so they are
:class:`PassThrough` models that check only the fields Flux requires.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import model_validator

from shared.contracts import validation
from shared.contracts.meta import PassThrough, WireModel
from shared.contracts.models import common

_URL_SCHEMES: Final[dict[str, tuple[str, ...]]] = {
    # The URL patterns of Flux's source CRDs.
    "gitRepository": ("http", "https", "ssh"),
    "helmRepository": ("http", "https", "oci"),
    "ociRepository": ("oci",),
}


class _Source(PassThrough):
    url: common.RequiredStr
    interval: common.GoDuration | None = None

    def _check_url(self, kind: str) -> None:
        problems = validation.Problems()
        schemes = _URL_SCHEMES[kind]
        if not re.match(rf"^({'|'.join(schemes)})://.+$", self.url):
            options = ", ".join(f"{s}://" for s in schemes)
            problems.add("url", f"invalid url {self.url!r}: must start with one of {options}")
        problems.raise_if_any()


class GitRepositorySource(_Source):
    interval: common.GoDuration

    @model_validator(mode="after")
    def _check(self) -> GitRepositorySource:
        self._check_url("gitRepository")
        return self


class HelmRepositorySource(_Source):
    @model_validator(mode="after")
    def _check(self) -> HelmRepositorySource:
        self._check_url("helmRepository")
        return self


class OCIRepositorySource(_Source):
    interval: common.GoDuration

    @model_validator(mode="after")
    def _check(self) -> OCIRepositorySource:
        self._check_url("ociRepository")
        return self


class ApplicationSource(WireModel):
    git_repository: GitRepositorySource | None = None
    helm_repository: HelmRepositorySource | None = None
    oci_repository: OCIRepositorySource | None = None

    @model_validator(mode="after")
    def _check(self) -> ApplicationSource:
        problems = validation.Problems()
        common.exactly_one(
            problems,
            "",
            {
                "gitRepository": self.git_repository is not None,
                "helmRepository": self.helm_repository is not None,
                "ociRepository": self.oci_repository is not None,
            },
        )
        problems.raise_if_any()
        return self

    @property
    def kind(self) -> str:
        """The Flux source kind: ``GitRepository``, ``HelmRepository`` or ``OCIRepository``."""
        if self.git_repository is not None:
            return "GitRepository"
        return "HelmRepository" if self.helm_repository is not None else "OCIRepository"


KUSTOMIZATION_SOURCES: Final = ("GitRepository", "OCIRepository")
"""The source kinds a Flux Kustomization's ``sourceRef`` takes."""
HELM_SOURCES: Final = ("HelmRepository", "GitRepository")
"""The source kinds a Flux HelmChart's ``sourceRef`` takes."""


class KustomizationPolicy(PassThrough):
    interval: common.GoDuration
    prune: bool
    path: str | None = None
    retry_interval: common.GoDuration | None = None
    timeout: common.GoDuration | None = None
    target_namespace: str | None = None


class HelmPolicy(PassThrough):
    interval: common.GoDuration
    chart: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    release_name: str | None = None
    target_namespace: str | None = None
    timeout: common.GoDuration | None = None


class ClusterSelector(WireModel):
    # Upstream matches only matchLabels (equality, ANDed) against Cluster/AttachedCluster labels.
    match_labels: dict[str, str] | None = None

    @model_validator(mode="after")
    def _check(self) -> ClusterSelector:
        problems = validation.Problems()
        validation.check_labels(problems, "matchLabels", self.match_labels)
        problems.raise_if_any()
        return self


class ApplicationDestination(WireModel):
    fleet: common.RequiredStr
    cluster_selector: ClusterSelector | None = None

    @model_validator(mode="after")
    def _check(self) -> ApplicationDestination:
        problems = validation.Problems()
        common.check_dns_subdomain(problems, "fleet", self.fleet, what="fleet name")
        problems.raise_if_any()
        return self


class ApplicationSyncPolicy(WireModel):
    name: str | None = None
    """Defaults to ``<application>-<index>``."""
    kustomization: KustomizationPolicy | None = None
    helm: HelmPolicy | None = None
    destination: ApplicationDestination | None = None
    rollout: PassThrough | None = None

    @model_validator(mode="after")
    def _check(self) -> ApplicationSyncPolicy:
        problems = validation.Problems()
        common.exactly_one(
            problems, "", {"kustomization": self.kustomization is not None, "helm": self.helm is not None}
        )
        if self.name is not None:
            common.check_dns_subdomain(problems, "name", self.name, what="sync policy name")
        problems.raise_if_any()
        return self
