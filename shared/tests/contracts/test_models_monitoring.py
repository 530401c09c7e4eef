"""Prometheus, ServiceMonitor and PrometheusRule models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.contracts.models import monitoring

Edit = tuple[str, Any]
Reject = Callable[..., list[tuple[str, str]]]

PROM_FILE = "08-prometheus.yaml"

# integrations.md 5.6: a member cluster's Prometheus.
PROMETHEUS: dict[str, Any] = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "Prometheus",
    "metadata": {"name": "k8s", "namespace": "monitoring"},
    "spec": {
        "replicas": 2,
        "externalLabels": {"cluster": "member1", "region": "eu-west"},
        "serviceMonitorSelector": {},
        "serviceMonitorNamespaceSelector": {},
        "ruleSelector": {"matchLabels": {"role": "alert-rules"}},
        "retention": "6h",
        "scrapeInterval": "30s",
        "thanos": {
            "image": "quay.io/thanos/thanos:v0.42.4",
            "objectStorageConfig": {"name": "thanos-objstore-config", "key": "thanos.yaml"},
        },
    },
}

SERVICE_MONITOR: dict[str, Any] = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "ServiceMonitor",
    "metadata": {"name": "fleet", "namespace": "kurator-system"},
    "spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "kurator-fleet"}},
        "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"}],
        "namespaceSelector": {"matchNames": ["kurator-system"]},
    },
}

RULES: dict[str, Any] = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "PrometheusRule",
    "metadata": {"name": "fleet-health", "namespace": "monitoring", "labels": {"role": "alert-rules"}},
    "spec": {
        "groups": [
            {
                "name": "fleet.rules",
                "interval": "1m",
                "rules": [
                    {"record": "cluster:up:sum", "expr": "sum by (cluster) (up)"},
                    {
                        "alert": "ClusterDown",
                        "expr": "cluster:up:sum == 0",
                        "for": "5m",
                        "keep_firing_for": "10m",
                        "labels": {"severity": "critical"},
                        "annotations": {"summary": "{{ $labels.cluster }} is down"},
                    },
                ],
            },
            {
                "name": "thanos.rules",
                "partial_response_strategy": "warn",
                "rules": [{"alert": "ThanosDown", "expr": 1}],
            },
        ]
    },
}


def test_seed_prometheus(example: Callable[..., dict[str, Any]]) -> None:
    prom = monitoring.Prometheus.model_validate(example(PROM_FILE))
    assert prom.spec.replicas == 2
    assert prom.spec.thanos is not None
    assert prom.spec.thanos.image == "quay.io/thanos/thanos:v0.24.0"


def test_prometheus_valid_keeps_empty_selectors() -> None:
    wire = monitoring.Prometheus.model_validate(PROMETHEUS).to_wire()
    # `{}` means "all" and absent means "none": the difference must survive.
    assert wire["spec"]["serviceMonitorSelector"] == {}
    assert "podMonitorSelector" not in wire["spec"]


_TH = "spec.thanos"

PROM_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no spec", [("spec", ...)], [("spec", "FieldValueRequired")]),
    ("negative replicas", [("spec.replicas", -1)], [("spec.replicas", "FieldValueInvalid")]),
    ("fractional retention", [("spec.retention", "1.5d")], [("spec.retention", "FieldValueInvalid")]),
    ("microsecond retention", [("spec.retention", "100us")], [("spec.retention", "FieldValueInvalid")]),
    ("retention size", [("spec.retentionSize", "50 gigabytes")], [("spec.retentionSize", "FieldValueInvalid")]),
    (
        "external label name",
        [("spec.externalLabels", {"cluster-name": "a"})],
        [("spec.externalLabels[cluster-name]", "FieldValueInvalid")],
    ),
    (
        "reserved external label",
        [("spec.externalLabels.prometheus_replica", "x")],
        [("spec.externalLabels[prometheus_replica]", "FieldValueForbidden")],
    ),
    ("scrape timeout above interval", [("spec.scrapeTimeout", "1m")], [("spec.scrapeTimeout", "FieldValueInvalid")]),
    (
        "thanos image with spaces",
        [(f"{_TH}.image", "quay.io/thanos/thanos v0.24")],
        [(f"{_TH}.image", "FieldValueInvalid")],
    ),
    (
        "thanos object storage without key",
        [(f"{_TH}.objectStorageConfig.key", ...)],
        [(f"{_TH}.objectStorageConfig.key", "FieldValueRequired")],
    ),
    ("thanos log level", [(f"{_TH}.logLevel", "verbose")], [(f"{_TH}.logLevel", "FieldValueNotSupported")]),
    ("thanos block size", [(f"{_TH}.blockSize", "2 hours")], [(f"{_TH}.blockSize", "FieldValueInvalid")]),
    (
        "rule selector",
        [("spec.ruleSelector.matchLabels", {"role": "alert rules"})],
        [("spec.ruleSelector.matchLabels[role]", "FieldValueInvalid")],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in PROM_BROKEN], ids=[c[0] for c in PROM_BROKEN])
def test_prometheus_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(monitoring.Prometheus, PROMETHEUS, *edits) == expected


def test_service_monitor_valid(edit: Callable[..., dict[str, Any]]) -> None:
    monitoring.ServiceMonitor.model_validate(SERVICE_MONITOR)
    monitoring.ServiceMonitor.model_validate(edit(SERVICE_MONITOR, ("spec.endpoints[0].targetPort", 8081)))


_E = "spec.endpoints[0]"

SMON_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("no selector", [("spec.selector", ...)], [("spec.selector", "FieldValueRequired")]),
    ("no endpoints", [("spec.endpoints", ...)], [("spec.endpoints", "FieldValueRequired")]),
    ("port number", [(f"{_E}.port", 8081)], [(f"{_E}.port", "FieldValueInvalid")]),
    ("empty port", [(f"{_E}.port", "")], [(f"{_E}.port", "FieldValueRequired")]),
    ("interval with fraction", [(f"{_E}.interval", "0.5m")], [(f"{_E}.interval", "FieldValueInvalid")]),
    ("timeout above interval", [(f"{_E}.scrapeTimeout", "30s")], [(f"{_E}.scrapeTimeout", "FieldValueInvalid")]),
    ("scheme", [(f"{_E}.scheme", "grpc")], [(f"{_E}.scheme", "FieldValueNotSupported")]),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in SMON_BROKEN], ids=[c[0] for c in SMON_BROKEN])
def test_service_monitor_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(monitoring.ServiceMonitor, SERVICE_MONITOR, *edits) == expected


def test_prometheus_rule_valid_keeps_snake_case_names() -> None:
    wire = monitoring.PrometheusRule.model_validate(RULES).to_wire()
    assert wire["spec"]["groups"][0]["rules"][1]["for"] == "5m"
    assert wire["spec"]["groups"][0]["rules"][1]["keep_firing_for"] == "10m"
    assert wire["spec"]["groups"][1]["partial_response_strategy"] == "warn"


_G = "spec.groups[0]"

RULES_BROKEN: list[tuple[str, list[Edit], list[tuple[str, str]]]] = [
    ("duplicate group", [("spec.groups[1].name", "fleet.rules")], [("spec.groups[1].name", "FieldValueDuplicate")]),
    ("group without name", [(f"{_G}.name", ...)], [(f"{_G}.name", "FieldValueRequired")]),
    ("empty group name", [(f"{_G}.name", "")], [(f"{_G}.name", "FieldValueRequired")]),
    ("record and alert", [(f"{_G}.rules[0].alert", "X")], [(f"{_G}.rules[0].alert", "FieldValueForbidden")]),
    ("neither record nor alert", [(f"{_G}.rules[0].record", ...)], [(f"{_G}.rules[0]", "FieldValueRequired")]),
    ("no expr", [(f"{_G}.rules[1].expr", ...)], [(f"{_G}.rules[1].expr", "FieldValueRequired")]),
    ("empty expr", [(f"{_G}.rules[1].expr", " ")], [(f"{_G}.rules[1].expr", "FieldValueRequired")]),
    ("for on a recording rule", [(f"{_G}.rules[0].for", "5m")], [(f"{_G}.rules[0].for", "FieldValueForbidden")]),
    (
        "annotations on a recording rule",
        [(f"{_G}.rules[0].annotations", {"a": "b"})],
        [(f"{_G}.rules[0].annotations", "FieldValueForbidden")],
    ),
    ("record name", [(f"{_G}.rules[0].record", "cluster up")], [(f"{_G}.rules[0].record", "FieldValueInvalid")]),
    ("for with fraction", [(f"{_G}.rules[1].for", "1.5m")], [(f"{_G}.rules[1].for", "FieldValueInvalid")]),
    (
        "reserved label",
        [(f"{_G}.rules[1].labels", {"__name__": "x"})],
        [(f"{_G}.rules[1].labels[__name__]", "FieldValueInvalid")],
    ),
    ("interval", [(f"{_G}.interval", "1 minute")], [(f"{_G}.interval", "FieldValueInvalid")]),
    (
        "partial response strategy",
        [("spec.groups[1].partial_response_strategy", "retry")],
        [("spec.groups[1].partial_response_strategy", "FieldValueNotSupported")],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in RULES_BROKEN], ids=[c[0] for c in RULES_BROKEN])
def test_prometheus_rule_rejects(reject: Reject, edits: list[Edit], expected: list[tuple[str, str]]) -> None:
    assert reject(monitoring.PrometheusRule, RULES, *edits) == expected
