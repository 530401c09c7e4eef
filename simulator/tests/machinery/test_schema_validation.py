"""OpenAPI validation of custom resources against the real upstream CRD schemas, checked
against the field paths, reasons and messages a real API server reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kurator_sim.machinery import fielderrors as fe
from kurator_sim.machinery.crds import load_crds
from kurator_sim.machinery.fielderrors import Cause
from kurator_sim.machinery.schema import check_write, validate, validation_rules

CRD_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "crds"

needs_crds = pytest.mark.skipif(not CRD_DIR.is_dir(), reason="shared CRDs not available")

Schema = dict[str, Any]


@pytest.fixture(scope="module")
def schemas() -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for crd in load_crds(CRD_DIR):
        schema = crd.storage_version.schema
        assert schema is not None
        out[crd.name] = schema
    return out


def causes_of(obj: dict[str, Any], schema: Schema) -> list[Cause]:
    result = check_write(obj, schema)
    return list(result.causes)


def by_field(causes: list[Cause]) -> dict[str, Cause]:
    return {c.field: c for c in causes}


# --- Volcano Job -------------------------------------------------------------------------


def vcjob(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schedulerName": "volcano",
        "minAvailable": 1,
        "tasks": [
            {
                "name": "worker",
                "replicas": 2,
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}},
            }
        ],
    }
    base.update(spec)
    return {"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job", "metadata": {"name": "j"}, "spec": base}


@needs_crds
def test_volcano_job_valid_and_defaulted(schemas: dict[str, Schema]) -> None:
    result = check_write(vcjob(), schemas["jobs.batch.volcano.sh"])
    assert result.causes == ()
    assert result.warnings == ()
    # maxRetry and queue have schema defaults
    assert result.obj["spec"]["maxRetry"] == 3
    assert result.obj["spec"]["queue"] == "default"


@needs_crds
def test_volcano_job_minimum(schemas: dict[str, Schema]) -> None:
    causes = causes_of(vcjob(minAvailable=-1), schemas["jobs.batch.volcano.sh"])
    assert causes == [
        Cause(
            "spec.minAvailable",
            fe.INVALID,
            "Invalid value: -1: spec.minAvailable in body should be greater than or equal to 0",
        )
    ]


@needs_crds
def test_volcano_job_wrong_type_and_pattern(schemas: dict[str, Schema]) -> None:
    job = vcjob()
    task = job["spec"]["tasks"][0]
    task["replicas"] = "two"
    task["name"] = "Bad_Name"
    causes = by_field(causes_of(job, schemas["jobs.batch.volcano.sh"]))
    assert causes["spec.tasks[0].replicas"] == Cause(
        "spec.tasks[0].replicas",
        fe.TYPE_INVALID,
        'Invalid value: "string": spec.tasks[0].replicas in body must be of type integer: "string"',
    )
    assert causes["spec.tasks[0].name"].message == (
        "Invalid value: \"Bad_Name\": spec.tasks[0].name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"
    )


@needs_crds
def test_volcano_job_required_inside_task(schemas: dict[str, Schema]) -> None:
    job = vcjob()
    job["spec"]["tasks"][0]["partitionPolicy"] = {}
    causes = causes_of(job, schemas["jobs.batch.volcano.sh"])
    assert [(c.field, c.reason, c.message) for c in causes] == [
        ("spec.tasks[0].partitionPolicy.partitionSize", fe.REQUIRED, "Required value"),
        ("spec.tasks[0].partitionPolicy.totalPartitions", fe.REQUIRED, "Required value"),
    ]


@needs_crds
def test_volcano_job_min_items_max_length_enum(schemas: dict[str, Schema]) -> None:
    job = vcjob(tasks=[], schedulerName="s" * 64)
    causes = by_field(causes_of(job, schemas["jobs.batch.volcano.sh"]))
    assert causes["spec.tasks"] == Cause(
        "spec.tasks", fe.INVALID, "Invalid value: 0: spec.tasks in body should have at least 1 items"
    )
    assert causes["spec.schedulerName"] == Cause(
        "spec.schedulerName", fe.TOO_LONG, "Too long: may not be more than 63 bytes"
    )
    job = vcjob()
    job["spec"]["tasks"][0]["topologyPolicy"] = "sometimes"
    (cause,) = causes_of(job, schemas["jobs.batch.volcano.sh"])
    assert cause == Cause(
        "spec.tasks[0].topologyPolicy",
        fe.NOT_SUPPORTED,
        'Unsupported value: "sometimes": supported values: "none", "best-effort", "restricted", "single-numa-node"',
    )


@needs_crds
def test_invalid_status_message_aggregates_like_new_invalid(schemas: dict[str, Schema]) -> None:
    job = vcjob(minAvailable=-1, tasks=[])
    causes = causes_of(job, schemas["jobs.batch.volcano.sh"])
    assert fe.invalid_message("batch.volcano.sh", "Job", "j", causes) == (
        'Job.batch.volcano.sh "j" is invalid: ['
        "spec.minAvailable: Invalid value: -1: spec.minAvailable in body should be greater than or equal to 0, "
        "spec.tasks: Invalid value: 0: spec.tasks in body should have at least 1 items]"
    )
    assert fe.invalid_message("", "Pod", "p", causes[:1]) == (
        'Pod "p" is invalid: spec.minAvailable: Invalid value: -1: '
        "spec.minAvailable in body should be greater than or equal to 0"
    )


# --- Karmada PropagationPolicy -------------------------------------------------------------


def policy(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": "nginx", "namespace": "default"},
        "spec": spec,
    }


SELECTORS = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}]


@needs_crds
def test_propagation_policy_enum(schemas: dict[str, Schema]) -> None:
    obj = policy(
        {"resourceSelectors": SELECTORS, "placement": {"replicaScheduling": {"replicaSchedulingType": "Sometimes"}}}
    )
    (cause,) = causes_of(obj, schemas["propagationpolicies.policy.karmada.io"])
    assert cause == Cause(
        "spec.placement.replicaScheduling.replicaSchedulingType",
        "FieldValueNotSupported",
        'Unsupported value: "Sometimes": supported values: "Duplicated", "Divided"',
    )


@needs_crds
def test_propagation_policy_required(schemas: dict[str, Schema]) -> None:
    schema = schemas["propagationpolicies.policy.karmada.io"]
    assert causes_of(policy({"placement": {}}), schema) == [
        Cause("spec.resourceSelectors", "FieldValueRequired", "Required value")
    ]
    missing_kind = policy({"resourceSelectors": [{"apiVersion": "apps/v1"}]})
    assert causes_of(missing_kind, schema) == [
        Cause("spec.resourceSelectors[0].kind", "FieldValueRequired", "Required value")
    ]
    # the root requires spec
    no_spec = policy({})
    del no_spec["spec"]
    assert causes_of(no_spec, schema) == [Cause("spec", "FieldValueRequired", "Required value")]


@needs_crds
def test_propagation_policy_defaults_and_nested_minimum(schemas: dict[str, Schema]) -> None:
    weights = {"staticWeightList": [{"targetCluster": {"clusterNames": ["member1"]}, "weight": 0}]}
    obj = policy({"resourceSelectors": SELECTORS, "placement": {"replicaScheduling": {"weightPreference": weights}}})
    result = check_write(obj, schemas["propagationpolicies.policy.karmada.io"])
    assert result.causes == (
        Cause(
            "spec.placement.replicaScheduling.weightPreference.staticWeightList[0].weight",
            fe.INVALID,
            "Invalid value: 0: spec.placement.replicaScheduling.weightPreference.staticWeightList[0].weight "
            "in body should be greater than or equal to 1",
        ),
    )
    spec = result.obj["spec"]
    assert spec["conflictResolution"] == "Abort"
    assert spec["preemption"] == "Never"
    assert spec["priority"] == 0
    assert spec["schedulerName"] == "default-scheduler"
    # a default inside an object the user did give
    assert spec["placement"]["replicaScheduling"]["replicaSchedulingType"] == "Divided"


# --- Velero Schedule ---------------------------------------------------------------------


def schedule(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "velero.io/v1",
        "kind": "Schedule",
        "metadata": {"name": "daily", "namespace": "velero"},
        "spec": spec,
    }
    if status is not None:
        obj["status"] = status
    return obj


@needs_crds
def test_velero_schedule(schemas: dict[str, Schema]) -> None:
    schema = schemas["schedules.velero.io"]
    good = schedule({"schedule": "0 1 * * *", "template": {"includedNamespaces": ["*"], "ttl": "720h0m0s"}})
    assert causes_of(good, schema) == []
    assert causes_of(schedule({"template": {}}), schema) == [Cause("spec.schedule", fe.REQUIRED, "Required value")]
    bad_status = schedule(
        {"schedule": "@daily", "template": {}}, {"lastBackup": "yesterday", "phase": "Bogus", "lastSkipped": None}
    )
    assert causes_of(bad_status, schema) == [
        Cause(
            "status.lastBackup",
            fe.TYPE_INVALID,
            'Invalid value: "yesterday": status.lastBackup in body must be of type date-time: "yesterday"',
        ),
        Cause(
            "status.phase",
            fe.NOT_SUPPORTED,
            'Unsupported value: "Bogus": supported values: "New", "Enabled", "FailedValidation"',
        ),
    ]
    ok_status = schedule({"schedule": "@daily", "template": {}}, {"lastBackup": "2024-05-01T10:00:00Z"})
    assert causes_of(ok_status, schema) == []


@needs_crds
def test_velero_nulls(schemas: dict[str, Schema]) -> None:
    # nullable fields keep their null; non-nullable nulls without default are dropped silently
    obj = schedule({"schedule": "@daily", "paused": None, "template": {"includedNamespaces": None}})
    result = check_write(obj, schemas["schedules.velero.io"])
    assert result.causes == ()
    assert "paused" not in result.obj["spec"]
    assert result.obj["spec"]["template"] == {"includedNamespaces": None}


# --- Istio VirtualService ----------------------------------------------------------------


def virtual_service(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "default"},
        "spec": spec,
    }
    if status is not None:
        obj["status"] = status
    return obj


@needs_crds
def test_virtual_service_valid_with_preserved_status(schemas: dict[str, Schema]) -> None:
    obj = virtual_service(
        {
            "hosts": ["reviews"],
            "http": [
                {
                    "match": [{"uri": {"prefix": "/v2"}}],
                    "route": [{"destination": {"host": "reviews", "subset": "v2", "port": {"number": 9080}}}],
                }
            ],
        },
        {"anything": {"goes": [1, 2]}, "conditions": [{"type": "Reconciled", "observedGeneration": "3"}]},
    )
    result = check_write(obj, schemas["virtualservices.networking.istio.io"])
    assert result.causes == ()
    assert result.warnings == ()
    # the root schema has no metadata/apiVersion/kind properties: they are implicit
    assert result.obj["metadata"] == {"name": "reviews", "namespace": "default"}
    assert result.obj["apiVersion"] == "networking.istio.io/v1"
    # status is x-kubernetes-preserve-unknown-fields
    assert result.obj["status"]["anything"] == {"goes": [1, 2]}


@needs_crds
def test_virtual_service_one_of_required_maximum(schemas: dict[str, Schema]) -> None:
    obj = virtual_service(
        {
            "hosts": ["reviews"],
            "http": [
                {
                    "match": [{"uri": {"exact": "/a", "prefix": "/b"}}],
                    "route": [{"destination": {"port": {"number": 4294967296}}}],
                }
            ],
        }
    )
    causes = causes_of(obj, schemas["virtualservices.networking.istio.io"])
    assert causes == [
        # composite (oneOf/anyOf/allOf/not) errors carry the nil field path on a real server
        Cause(
            "<nil>",
            fe.INVALID,
            'Invalid value: "": "spec.http[0].match[0].uri" must validate one and only one schema (oneOf). '
            "Found 2 valid alternatives",
        ),
        Cause(
            "spec.http[0].route[0].destination.port.number",
            fe.INVALID,
            "Invalid value: 4294967296: spec.http[0].route[0].destination.port.number in body should be less "
            "than or equal to 4294967295",
        ),
        Cause("spec.http[0].route[0].destination.host", fe.REQUIRED, "Required value"),
    ]
    assert causes[0].error().startswith('<nil>: Invalid value: ""')


@needs_crds
def test_int_or_string(schemas: dict[str, Schema]) -> None:
    schema = schemas["virtualservices.networking.istio.io"]
    for good in (3, "3"):
        status = {"conditions": [{"type": "Reconciled", "observedGeneration": good}]}
        assert causes_of(virtual_service({}, status), schema) == []
    status = {"conditions": [{"type": "Reconciled", "observedGeneration": True}]}
    path = "status.conditions[0].observedGeneration"
    assert causes_of(virtual_service({}, status), schema) == [
        Cause(
            path, fe.TYPE_INVALID, f'Invalid value: "boolean": {path} in body must be of type integer,string: "boolean"'
        ),
        Cause("<nil>", fe.INVALID, f'Invalid value: "": "{path}" must validate at least one schema (anyOf)'),
        Cause(path, fe.TYPE_INVALID, f'Invalid value: "boolean": {path} in body must be of type integer: "boolean"'),
    ]


# --- list types ----------------------------------------------------------------------------


@needs_crds
def test_list_map_duplicates(schemas: dict[str, Schema]) -> None:
    obj = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": "ext"},
        "spec": {
            "hosts": ["api.example.com"],
            "ports": [
                {"name": "http", "number": 80, "protocol": "HTTP"},
                {"name": "http", "number": 81, "protocol": "HTTP"},
                {"name": "http", "number": 82, "protocol": "HTTP"},
            ],
        },
    }
    causes = causes_of(obj, schemas["serviceentries.networking.istio.io"])
    # only the first repeat of a key is reported, as validateListSet does
    assert causes == [Cause("spec.ports[1]", fe.DUPLICATE, 'Duplicate value: {"name":"http"}')]


@needs_crds
def test_list_map_with_two_keys(schemas: dict[str, Schema]) -> None:
    container = {
        "name": "sidecar",
        "ports": [
            {"containerPort": 8080, "protocol": "TCP"},
            {"containerPort": 8080, "protocol": "UDP"},
            {"containerPort": 8080, "protocol": "TCP"},
        ],
    }
    obj = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": {"name": "k8s"},
        "spec": {"containers": [container]},
    }
    causes = causes_of(obj, schemas["prometheuses.monitoring.coreos.com"])
    assert causes == [
        Cause(
            "spec.containers[0].ports[2]",
            fe.DUPLICATE,
            'Duplicate value: {"containerPort":8080,"protocol":"TCP"}',
        )
    ]


@needs_crds
def test_list_set_duplicates(schemas: dict[str, Schema]) -> None:
    obj = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {},
            "endpoints": [{"port": "web"}],
            "scrapeProtocols": ["PrometheusProto", "OpenMetricsText1.0.0", "PrometheusProto"],
        },
    }
    causes = causes_of(obj, schemas["servicemonitors.monitoring.coreos.com"])
    assert causes == [Cause("spec.scrapeProtocols[2]", fe.DUPLICATE, 'Duplicate value: "PrometheusProto"')]


def test_list_map_under_map_uses_key_brackets() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "pools": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                        },
                    },
                    "limits": {"type": "object", "additionalProperties": {"type": "integer"}},
                },
            }
        },
    }
    obj = {"spec": {"pools": {"gpu": [{"name": "a"}, {"name": "a"}]}, "limits": {"cpu": "x"}}}
    assert validate(obj, schema) == [
        # kube-openapi spells map keys with a dot ...
        Cause(
            "spec.limits.cpu",
            fe.TYPE_INVALID,
            'Invalid value: "string": spec.limits.cpu in body must be of type integer: "string"',
        ),
        # ... the list-type check uses field.Path, with [key]
        Cause("spec.pools[gpu][1]", fe.DUPLICATE, 'Duplicate value: {"name":"a"}'),
    ]


def test_embedded_resource() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "template": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": True,
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        },
    }
    obj: dict[str, Any] = {
        "apiVersion": "example.com/v1",
        "kind": "Wrapper",
        "metadata": {"name": "w"},
        "spec": {"template": {"apiVersion": "v1", "metadata": {"name": "x", "bogus": 1}, "data": {"a": "b"}}},
    }
    result = check_write(obj, schema)
    assert result.causes == (Cause("spec.template.kind", fe.REQUIRED, "Required value"),)
    # embedded metadata is ObjectMeta: unknown fields in it are dropped and reported
    assert result.warnings == ('unknown field "spec.template.metadata.bogus"',)
    assert result.obj["spec"]["template"] == {"apiVersion": "v1", "metadata": {"name": "x"}, "data": {"a": "b"}}
    obj["spec"]["template"]["kind"] = "Config Map"
    result = check_write(obj, schema)
    assert result.causes[0].field == "spec.template.kind"
    assert result.causes[0].message.startswith(
        'Invalid value: "Config Map": may have mixed case, but should otherwise match: a DNS-1035 label'
    )


# --- other keywords --------------------------------------------------------------------------


def test_keywords_on_a_synthetic_schema() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "maxProperties": 10,
                "properties": {
                    "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1.5},
                    "step": {"type": "integer", "multipleOf": 5},
                    "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "minLength": 2}},
                    "labels": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}},
                    "id": {"type": "string", "format": "uuid"},
                    "when": {"type": "string", "format": "date-time"},
                    "count": {"type": "integer", "format": "int32"},
                    "mode": {"type": "string", "enum": ["a", 1, None]},
                },
            }
        },
    }
    obj = {
        "spec": {
            "ratio": 0,
            "step": 7,
            "tags": ["a", "bb", "cc"],
            "labels": {},
            "id": "nope",
            "when": 5,
            "count": 3_000_000_000,  # int32 is not enforced: the apiserver strips that format
            "mode": "b",
        }
    }
    causes = validate(obj, schema)
    assert [(c.field, c.reason, c.message) for c in causes] == [
        ("spec.ratio", fe.INVALID, "Invalid value: 0: spec.ratio in body should be greater than 0"),
        ("spec.step", fe.INVALID, "Invalid value: 7: spec.step in body should be a multiple of 5"),
        ("spec.tags[0]", fe.INVALID, 'Invalid value: "a": spec.tags[0] in body should be at least 2 chars long'),
        ("spec.tags", fe.TOO_MANY, "Too many: 3: must have at most 2 items"),
        ("spec.labels", fe.INVALID, "Invalid value: 0: spec.labels in body should have at least 1 properties"),
        ("spec.id", fe.TYPE_INVALID, 'Invalid value: "nope": spec.id in body must be of type uuid: "nope"'),
        # a number in a date-time string field: kube-openapi's format check fires first
        ("spec.when", fe.TYPE_INVALID, 'Invalid value: "int64": spec.when in body must be of type date-time: "int64"'),
        ("spec.mode", fe.NOT_SUPPORTED, 'Unsupported value: "b": supported values: "a", "1", "null"'),
    ]
    assert validate({"spec": {"ratio": 2.25}}, schema) == [
        Cause("spec.ratio", fe.INVALID, "Invalid value: 2.25: spec.ratio in body should be less than or equal to 1.5")
    ]
    # integers are fine for number fields, integral floats for integer fields
    assert validate({"spec": {"ratio": 1, "step": 10.0}}, schema) == []
    # booleans are not numbers
    assert validate({"spec": {"step": True}}, schema)[0].message == (
        'Invalid value: "boolean": spec.step in body must be of type integer: "boolean"'
    )
    too_many = {"spec": {f"k{i}": i for i in range(11)}}
    assert validate(too_many, schema) == [Cause("spec", fe.TOO_MANY, "Too many: 11: must have at most 10 items")]


def test_null_handling() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": {"type": "string"}},
                    "nullable": {"type": "string", "nullable": True},
                },
            }
        },
    }
    result = check_write({"kind": "X", "apiVersion": "x/v1", "spec": {"items": ["a", None], "nullable": None}}, schema)
    assert result.causes == (
        Cause(
            "spec.items[1]",
            fe.TYPE_INVALID,
            'Invalid value: "null": spec.items[1] in body must be of type string: "null"',
        ),
    )
    assert result.obj["spec"]["nullable"] is None


@needs_crds
def test_cel_rules_are_listed_and_reported_as_skipped(schemas: dict[str, Schema]) -> None:
    schema = schemas["serviceentries.networking.istio.io"]
    rules = validation_rules(schema)
    assert any(r.field == "spec" and "workloadSelector" in r.rule for r in rules)
    obj = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": "e"},
        "spec": {"hosts": ["a.b"]},
    }
    result = check_write(obj, schema)
    assert result.causes == ()
    skipped = {r.field for r in result.skipped_rules}
    assert "spec" in skipped
    assert all(r.rule for r in result.skipped_rules)
    assert "not evaluated" in result.skipped_rules[0].warning()


# --- fielderrors formatting ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.5, "0.5"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (-2.5, "-2.5"),
        (100.0, "100"),
    ],
)
def test_go_float(value: float, text: str) -> None:
    assert fe.go_float(value) == text


def test_go_value_rendering() -> None:
    assert fe.go_value('a"b\n') == '"a\\"b\\n"'
    assert fe.go_value(True) == "true"
    assert fe.go_value({"b": 1, "a": "<x>", "c": 2.0}) == '{"a":"\\u003cx\\u003e","b":1,"c":2}'
    assert fe.go_value(None) == "null"
    assert fe.aggregate(["x", "x"]) == "x"
    assert fe.aggregate(["x", "y", "x"]) == "[x, y]"
