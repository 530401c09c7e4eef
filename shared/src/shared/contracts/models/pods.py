"""Pod templates embedded in workloads (Deployment, FederatedDeployment, Volcano Job tasks).

Every model here is a :class:`PassThrough`: the template is handed to the integrated system
as written, so fields we do not check (probes, affinity, volumes, ...) must survive. We check
only what a user gets wrong first: container names and images, ports, resource quantities.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from pydantic import Field, model_validator

from shared.contracts import quantity, validation
from shared.contracts.meta import PassThrough
from shared.contracts.models import common

_IANA_SVC_NAME: Final = re.compile(r"^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")


def port_name_error(name: str) -> str | None:
    """Why ``name`` is not an ``IANA_SVC_NAME`` (what Kubernetes requires of port names)."""
    if not _IANA_SVC_NAME.match(name) or "--" in name or not re.search(r"[a-z]", name):
        return (
            "must be no more than 15 characters, contain only lowercase letters, digits and '-', "
            "contain at least one letter, and not start or end with '-' or contain '--'"
        )
    return None


class ContainerPort(PassThrough):
    container_port: int = Field(ge=1, le=65535)
    name: str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] | None = None
    host_port: int | None = Field(default=None, ge=1, le=65535)

    @model_validator(mode="after")
    def _check(self) -> ContainerPort:
        problems = validation.Problems()
        if self.name is not None:
            err = port_name_error(self.name)
            if err:
                problems.add("name", f"invalid port name {self.name!r}: {err}")
        problems.raise_if_any()
        return self


class ResourceRequirements(PassThrough):
    limits: common.ResourceList | None = None
    requests: common.ResourceList | None = None

    @model_validator(mode="after")
    def _check(self) -> ResourceRequirements:
        problems = validation.Problems()
        limits = self.limits or {}
        for name, requested in (self.requests or {}).items():
            if name in limits and quantity.parse_quantity(requested) > quantity.parse_quantity(limits[name]):
                problems.add(f"requests[{name}]", f"must be less than or equal to {name} limit of {limits[name]}")
        problems.raise_if_any()
        return self


class Container(PassThrough):
    name: common.RequiredStr
    image: common.RequiredStr
    ports: list[ContainerPort] | None = None
    resources: ResourceRequirements | None = None

    @model_validator(mode="after")
    def _check(self) -> Container:
        problems = validation.Problems()
        common.check_dns_label(problems, "name", self.name, what="container name")
        if self.image != self.image.strip() or " " in self.image:
            problems.add("image", f"invalid image {self.image!r}: must not contain spaces")
        common.check_unique(
            problems,
            ((f"ports[{i}].name", p.name) for i, p in enumerate(self.ports or ()) if p.name),
            what="port name",
        )
        problems.raise_if_any()
        return self


class PodSpec(PassThrough):
    containers: list[Container]
    init_containers: list[Container] | None = None
    node_selector: dict[str, str] | None = None

    @model_validator(mode="after")
    def _check(self) -> PodSpec:
        problems = validation.Problems()
        if not self.containers:
            problems.add("containers", "at least one container is required", "FieldValueRequired")
        named = [(f"containers[{i}].name", c.name) for i, c in enumerate(self.containers)]
        named += [(f"initContainers[{i}].name", c.name) for i, c in enumerate(self.init_containers or ())]
        common.check_unique(problems, named, what="container name")
        validation.check_labels(problems, "nodeSelector", self.node_selector)
        problems.raise_if_any()
        return self


class PodTemplateMeta(PassThrough):
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None

    @model_validator(mode="after")
    def _check(self) -> PodTemplateMeta:
        problems = validation.Problems()
        validation.check_labels(problems, "labels", self.labels)
        for key in self.annotations or {}:
            err = validation.label_key_error(key)
            if err:
                problems.add(f"annotations[{key}]", f"invalid annotation key {key!r}: {err}")
        problems.raise_if_any()
        return self


class PodTemplateSpec(PassThrough):
    """``core/v1 PodTemplateSpec``: ``metadata`` (labels, annotations) and a pod ``spec``."""

    metadata: PodTemplateMeta | None = None
    spec: PodSpec

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.metadata.labels or {}) if self.metadata else {}
