"""Kubernetes resource templates Karmada propagates: Deployment, Service, Ingress, ConfigMap, Secret.

These objects are written to the Karmada apiserver as they are, so their specs are
:class:`PassThrough` models: undeclared fields survive, declared ones are checked the way the
Kubernetes apiserver would check them, with one deliberate leniency on Deployment (below).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final, Literal

from pydantic import Field, model_validator

from shared.contracts import validation
from shared.contracts.meta import KubeObject, PassThrough
from shared.contracts.models import common, pods

# --- Deployment ----------------------------------------------------------------------------


class DeploymentSpec(PassThrough):
    """``apps/v1 DeploymentSpec``, except that ``selector`` is optional.

    ``apps/v1`` requires ``selector`` and template labels matching it, but the seed's
    ``kurator-controller-manager`` Deployment has neither and must be accepted as written: it
    is an intent, and the fleet service completes it (:meth:`Deployment.completed`) before
    writing it. When a selector *is* given, it must be non-empty and match the template labels
    as the apiserver demands (template labels may be left out; they are then copied).
    """

    replicas: int | None = Field(default=None, ge=0)
    selector: common.LabelSelector | None = None
    template: pods.PodTemplateSpec
    min_ready_seconds: int | None = Field(default=None, ge=0)
    revision_history_limit: int | None = Field(default=None, ge=0)
    progress_deadline_seconds: int | None = Field(default=None, ge=1)
    paused: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> DeploymentSpec:
        problems = validation.Problems()
        check_selector_matches_template(problems, self.selector, self.template)
        problems.raise_if_any()
        return self


def check_selector_matches_template(
    problems: validation.Problems, selector: common.LabelSelector | None, template: pods.PodTemplateSpec
) -> None:
    """The apiserver's Deployment rule: a non-empty selector that the template labels satisfy.

    Template labels left out entirely are accepted when the selector's own ``matchLabels``
    satisfy it: :meth:`Deployment.completed` copies them, as it fills a missing selector.
    """
    if selector is None:
        return
    no_labels = template.metadata is None or template.metadata.labels is None
    if selector.is_empty:
        problems.add("selector", "empty selector is invalid for deployment")
    elif no_labels and selector.matches(selector.match_labels or {}):
        return
    elif not selector.matches(template.labels):
        problems.add("template.metadata.labels", "`selector` does not match template `labels`")


class Deployment(KubeObject):
    spec: DeploymentSpec

    def completed(self) -> Deployment:
        """The ``apps/v1``-valid form: a missing selector and missing template labels filled in.

        With neither, both become ``{app: <metadata.name>}`` (the label the seed's
        anti-affinity term already selects on); with one of them, the other copies it.
        """
        return Deployment.model_validate(complete_wire(self.to_wire()))


def complete_wire(doc: dict[str, Any]) -> dict[str, Any]:
    """What :meth:`Deployment.completed` does, on a Deployment's wire form (changed in place, returned).

    For a caller that holds the wire form of a validated Deployment already: the completed form
    stays valid and in wire form (the selector and labels it writes are plain label maps), so it
    needs no second validation.
    """
    spec: dict[str, Any] = doc["spec"]
    meta: dict[str, Any] = spec["template"].setdefault("metadata", {})
    labels: dict[str, str] = dict(meta.get("labels") or {})
    selector = spec.get("selector")
    if not selector:
        labels = labels or {"app": doc["metadata"]["name"]}
        spec["selector"] = {"matchLabels": dict(labels)}
    elif not labels:
        labels = dict(selector.get("matchLabels") or {})
    meta["labels"] = labels
    return doc


# --- Service -------------------------------------------------------------------------------


class ServicePort(PassThrough):
    name: str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] | None = None
    port: int = Field(ge=1, le=65535)
    target_port: common.IntOrString | None = None
    node_port: int | None = Field(default=None, ge=1, le=65535)

    @model_validator(mode="after")
    def _check(self) -> ServicePort:
        problems = validation.Problems()
        if self.name is not None:
            common.check_dns_label(problems, "name", self.name, what="port name", max_length=63)
        if isinstance(self.target_port, int) and not 1 <= self.target_port <= 65535:
            problems.add("targetPort", f"must be between 1 and 65535, inclusive, got {self.target_port}")
        elif isinstance(self.target_port, str):
            err = pods.port_name_error(self.target_port)
            if err:
                problems.add("targetPort", f"invalid port name {self.target_port!r}: {err}")
        problems.raise_if_any()
        return self


class ServiceSpec(PassThrough):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] | None = None
    ports: list[ServicePort] | None = None
    selector: dict[str, str] | None = None
    cluster_ip: str | None = Field(default=None, alias="clusterIP")
    external_name: str | None = None

    @model_validator(mode="after")
    def _check(self) -> ServiceSpec:
        problems = validation.Problems()
        ports = self.ports or []
        headless = self.cluster_ip == "None"
        if self.type == "ExternalName":
            if not self.external_name:
                problems.add("externalName", "required for type ExternalName", "FieldValueRequired")
        elif not ports and not headless:
            problems.add("ports", "Required value", "FieldValueRequired")
        if len(ports) > 1:
            for i, port in enumerate(ports):
                if not port.name:
                    problems.add(f"ports[{i}].name", "required when a Service has several ports", "FieldValueRequired")
        common.check_unique(
            problems, ((f"ports[{i}].name", p.name) for i, p in enumerate(ports) if p.name), what="port name"
        )
        common.check_unique(
            problems,
            ((f"ports[{i}]", (p.port, p.protocol or "TCP")) for i, p in enumerate(ports)),
            what="port/protocol",
        )
        validation.check_labels(problems, "selector", self.selector)
        problems.raise_if_any()
        return self


class Service(KubeObject):
    NAME_RULE = "label"
    spec: ServiceSpec

    @model_validator(mode="after")
    def _check_name(self) -> Service:
        # Services follow RFC 1035: the name becomes a DNS label that must start with a letter.
        if self.metadata.name[:1].isdigit():
            raise validation.FieldErrors(
                [
                    (
                        "metadata.name",
                        "FieldValueInvalid",
                        f"invalid name {self.metadata.name!r}: a Service name must start with a letter (RFC 1035)",
                    )
                ]
            )
        return self


# --- Ingress -------------------------------------------------------------------------------


class ServiceBackendPort(PassThrough):
    name: str | None = None
    number: int | None = Field(default=None, ge=1, le=65535)

    @model_validator(mode="after")
    def _check(self) -> ServiceBackendPort:
        problems = validation.Problems()
        common.exactly_one(problems, "", {"number": self.number is not None, "name": self.name is not None})
        if self.name is not None:
            err = pods.port_name_error(self.name)
            if err:
                problems.add("name", f"invalid port name {self.name!r}: {err}")
        problems.raise_if_any()
        return self


class IngressServiceBackend(PassThrough):
    name: common.RequiredStr
    port: ServiceBackendPort


class IngressBackend(PassThrough):
    service: IngressServiceBackend | None = None
    resource: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> IngressBackend:
        problems = validation.Problems()
        common.exactly_one(problems, "", {"service": self.service is not None, "resource": self.resource is not None})
        problems.raise_if_any()
        return self


class HTTPIngressPath(PassThrough):
    path: str | None = None
    path_type: Literal["Exact", "Prefix", "ImplementationSpecific"]
    backend: IngressBackend

    @model_validator(mode="after")
    def _check(self) -> HTTPIngressPath:
        problems = validation.Problems()
        if self.path_type != "ImplementationSpecific" and not (self.path or "").startswith("/"):
            problems.add("path", f"must be an absolute path for pathType {self.path_type}")
        problems.raise_if_any()
        return self


class HTTPIngressRuleValue(PassThrough):
    paths: list[HTTPIngressPath] = Field(min_length=1)


class IngressRule(PassThrough):
    host: str | None = None
    http: HTTPIngressRuleValue | None = None

    @model_validator(mode="after")
    def _check(self) -> IngressRule:
        problems = validation.Problems()
        if self.host is not None:
            # A wildcard is allowed only as the whole first label ("*.example.com").
            err = validation.dns_subdomain_error(self.host.removeprefix("*."))
            if err is None and re.fullmatch(r"[0-9.]+", self.host):
                err = "must be a DNS name, not an IP address"
            if err:
                problems.add("host", f"invalid host {self.host!r}: {err}")
        problems.raise_if_any()
        return self


class IngressSpec(PassThrough):
    ingress_class_name: str | None = None
    default_backend: IngressBackend | None = None
    rules: list[IngressRule] | None = None
    tls: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _check(self) -> IngressSpec:
        problems = validation.Problems()
        if not self.rules and self.default_backend is None:
            problems.add("rules", "either `defaultBackend` or `rules` must be specified", "FieldValueRequired")
        problems.raise_if_any()
        return self


class Ingress(KubeObject):
    spec: IngressSpec


# --- ConfigMap and Secret ------------------------------------------------------------------

_CONFIG_KEY: Final = re.compile(r"^[-._a-zA-Z0-9]+$")


def config_key_error(key: str) -> str | None:
    """Why ``key`` is not a ConfigMap/Secret data key (``IsConfigMapKey``)."""
    if not key:
        return "must not be empty"
    if len(key) > 253:
        return "must be no more than 253 characters"
    if not _CONFIG_KEY.match(key):
        return "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
    if key in (".", "..") or key.startswith(".."):
        return "must not be '.' or '..' or start with '..'"
    return None


def _check_data(
    problems: validation.Problems, maps: dict[str, dict[str, str] | None], *, base64_maps: set[str]
) -> None:
    seen: dict[str, str] = {}
    for field, data in maps.items():
        for key, value in (data or {}).items():
            err = config_key_error(key)
            if err:
                problems.add(f"{field}[{key}]", f"invalid key {key!r}: {err}")
            if key in seen:
                problems.add(f"{field}[{key}]", f"duplicate key {key!r} (also in {seen[key]})", "FieldValueDuplicate")
            seen.setdefault(key, field)
            if field in base64_maps:
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    # The value may be a secret: never echo it.
                    problems.add(f"{field}[{key}]", "value must be base64-encoded")


class ConfigMap(KubeObject):
    data: dict[str, str] | None = None
    binary_data: dict[str, str] | None = None
    immutable: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> ConfigMap:
        problems = validation.Problems()
        _check_data(problems, {"data": self.data, "binaryData": self.binary_data}, base64_maps={"binaryData"})
        problems.raise_if_any()
        return self


class Secret(KubeObject):
    type: str | None = None
    data: dict[str, str] | None = None
    string_data: dict[str, str] | None = None
    immutable: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> Secret:
        problems = validation.Problems()
        # stringData is merged into data by the apiserver, so the same key in both is allowed.
        _check_data(problems, {"data": self.data}, base64_maps={"data"})
        _check_data(problems, {"stringData": self.string_data}, base64_maps=set())
        problems.raise_if_any()
        return self
