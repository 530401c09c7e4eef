"""Prometheus Operator kinds the observability service owns: ``Prometheus`` (with its Thanos
sidecar), ``ServiceMonitor`` and ``PrometheusRule``.

Rules come from the operator's CRD schemas and rule validation (integrations.md 5.1-5.4,
section 7). Durations are Prometheus durations (``30s``, ``15d``; no fractions). Specs are
:class:`PassThrough`: the operator's ~130 Prometheus fields reach it untouched.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from pydantic import Field, field_validator, model_validator

from shared.contracts import durations, validation
from shared.contracts.meta import KubeObject, PassThrough
from shared.contracts.models import common

_PROM_LABEL_NAME: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC_NAME: Final = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_RETENTION_SIZE: Final = re.compile(r"^(0|([0-9]*[.])?[0-9]+((K|M|G|T|E|P)i?)?B)$")


def _check_prom_labels(problems: validation.Problems, path: str, labels: dict[str, str] | None) -> None:
    for name in labels or {}:
        if not _PROM_LABEL_NAME.match(name):
            problems.add(f"{path}[{name}]", f"invalid label name {name!r}: must match [a-zA-Z_][a-zA-Z0-9_]*")
        elif name.startswith("__"):
            problems.add(f"{path}[{name}]", f"invalid label name {name!r}: names starting with '__' are reserved")


def _check_image(problems: validation.Problems, path: str, image: str | None) -> None:
    if image is not None and (not image or any(c.isspace() for c in image)):
        problems.add(path, f"invalid image {image!r}: must be a non-empty image reference without spaces")


# --- Prometheus ----------------------------------------------------------------------------


class SecretKeySelector(PassThrough):
    name: common.RequiredStr
    key: common.RequiredStr


class ThanosSpec(PassThrough):
    """A non-empty ``thanos`` makes the operator add the ``thanos-sidecar`` container."""

    image: str | None = None
    version: str | None = None
    object_storage_config: SecretKeySelector | None = None
    block_size: common.PrometheusDuration | None = None
    ready_timeout: common.PrometheusDuration | None = None
    log_level: Literal["", "debug", "info", "warn", "error"] | None = None
    log_format: Literal["", "logfmt", "json"] | None = None

    @model_validator(mode="after")
    def _check(self) -> ThanosSpec:
        problems = validation.Problems()
        _check_image(problems, "image", self.image)
        problems.raise_if_any()
        return self


class PrometheusSpec(PassThrough):
    replicas: int | None = Field(default=None, ge=0)
    shards: int | None = Field(default=None, ge=0)
    version: str | None = None
    image: str | None = None
    external_labels: dict[str, str] | None = None
    replica_external_label_name: str | None = None
    prometheus_external_label_name: str | None = None
    retention: common.PrometheusDuration | None = None
    retention_size: str | None = None
    scrape_interval: common.PrometheusDuration | None = None
    scrape_timeout: common.PrometheusDuration | None = None
    evaluation_interval: common.PrometheusDuration | None = None
    service_monitor_selector: common.LabelSelector | None = None
    service_monitor_namespace_selector: common.LabelSelector | None = None
    pod_monitor_selector: common.LabelSelector | None = None
    pod_monitor_namespace_selector: common.LabelSelector | None = None
    rule_selector: common.LabelSelector | None = None
    rule_namespace_selector: common.LabelSelector | None = None
    thanos: ThanosSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> PrometheusSpec:
        problems = validation.Problems()
        _check_image(problems, "image", self.image)
        _check_prom_labels(problems, "externalLabels", self.external_labels)
        # The operator sets these two itself and ignores a user-set copy with only a log line.
        reserved = {
            "prometheus_replica" if self.replica_external_label_name is None else self.replica_external_label_name,
            "prometheus" if self.prometheus_external_label_name is None else self.prometheus_external_label_name,
        } - {""}
        for name in sorted(reserved & set(self.external_labels or {})):
            problems.add(f"externalLabels[{name}]", f"{name!r} is set by the operator", "FieldValueForbidden")
        if self.retention_size is not None and not _RETENTION_SIZE.match(self.retention_size):
            problems.add("retentionSize", f"invalid size {self.retention_size!r}: use e.g. '50GB' or '512MiB'")
        _check_timeout(problems, self.scrape_timeout, self.scrape_interval)
        problems.raise_if_any()
        return self


def _check_timeout(problems: validation.Problems, timeout: str | None, interval: str | None) -> None:
    if (
        timeout is not None
        and interval is not None
        and (durations.parse_prometheus_duration(timeout) > durations.parse_prometheus_duration(interval))
    ):
        problems.add("scrapeTimeout", f"scrapeTimeout {timeout} must not be greater than the interval {interval}")


class Prometheus(KubeObject):
    spec: PrometheusSpec


# --- ServiceMonitor ------------------------------------------------------------------------


class Endpoint(PassThrough):
    port: str | None = None
    """The *name* of a Service port."""
    target_port: common.IntOrString | None = None
    path: str | None = None
    scheme: Literal["http", "https", "HTTP", "HTTPS"] | None = None
    interval: common.PrometheusDuration | None = None
    scrape_timeout: common.PrometheusDuration | None = None
    honor_labels: bool | None = None

    @field_validator("port", mode="before")
    @classmethod
    def _port_is_a_name(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"port must be the name of a Service port, not the number {value}; use targetPort")
        return value

    @model_validator(mode="after")
    def _check(self) -> Endpoint:
        problems = validation.Problems()
        if self.port is not None and not self.port:
            problems.add("port", "must not be empty", "FieldValueRequired")
        _check_timeout(problems, self.scrape_timeout, self.interval)
        problems.raise_if_any()
        return self


class NamespaceSelector(PassThrough):
    any: bool | None = None
    match_names: list[str] | None = None


class ServiceMonitorSpec(PassThrough):
    selector: common.LabelSelector
    endpoints: list[Endpoint]
    namespace_selector: NamespaceSelector | None = None
    job_label: str | None = None


class ServiceMonitor(KubeObject):
    spec: ServiceMonitorSpec


# --- PrometheusRule ------------------------------------------------------------------------


class Rule(PassThrough):
    record: str | None = None
    alert: str | None = None
    expr: common.IntOrString
    # The wire names of these three are snake_case or a Python keyword, not camelCase.
    for_: common.PrometheusDuration | None = Field(default=None, alias="for")
    keep_firing_for: common.PrometheusDuration | None = Field(default=None, alias="keep_firing_for")
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None

    @model_validator(mode="after")
    def _check(self) -> Rule:
        problems = validation.Problems()
        common.exactly_one(problems, "", {"record": self.record is not None, "alert": self.alert is not None})
        if isinstance(self.expr, str) and not self.expr.strip():
            problems.add("expr", "field 'expr' must be set in rule", "FieldValueRequired")
        if self.record is not None:
            if not _METRIC_NAME.match(self.record):
                problems.add("record", f"invalid recording rule name {self.record!r}: must be a valid metric name")
            for field, value in (
                ("for", self.for_),
                ("keep_firing_for", self.keep_firing_for),
                ("annotations", self.annotations),
            ):
                if value is not None:
                    problems.add(field, f"invalid field '{field}' in recording rule", "FieldValueForbidden")
        elif self.alert is not None and not self.alert.strip():
            problems.add("alert", "alert name must not be empty", "FieldValueRequired")
        _check_prom_labels(problems, "labels", self.labels)
        problems.raise_if_any()
        return self


class RuleGroup(PassThrough):
    name: common.RequiredStr
    interval: common.PrometheusDuration | None = None
    query_offset: common.PrometheusDuration | None = Field(default=None, alias="query_offset")
    limit: int | None = Field(default=None, ge=0)
    partial_response_strategy: str | None = Field(default=None, alias="partial_response_strategy")
    labels: dict[str, str] | None = None
    rules: list[Rule] | None = None

    @model_validator(mode="after")
    def _check(self) -> RuleGroup:
        problems = validation.Problems()
        strategy = self.partial_response_strategy
        if strategy is not None and strategy.lower() not in ("", "abort", "warn"):
            problems.add(
                "partial_response_strategy", f"must be 'abort' or 'warn', not {strategy!r}", "FieldValueNotSupported"
            )
        _check_prom_labels(problems, "labels", self.labels)
        problems.raise_if_any()
        return self


class PrometheusRuleSpec(PassThrough):
    groups: list[RuleGroup] | None = None

    @model_validator(mode="after")
    def _check(self) -> PrometheusRuleSpec:
        problems = validation.Problems()
        common.check_unique(
            problems, ((f"groups[{i}].name", g.name) for i, g in enumerate(self.groups or ())), what="group name"
        )
        problems.raise_if_any()
        return self


class PrometheusRule(KubeObject):
    spec: PrometheusRuleSpec
