"""Pruning, ObjectMeta coercion, defaulting and the fieldValidation modes of the write path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kurator_sim.machinery import fielderrors as fe
from kurator_sim.machinery.crds import load_crds
from kurator_sim.machinery.fielderrors import Cause
from kurator_sim.machinery.schema import (
    FieldValidation,
    InvalidFieldValidationError,
    apply_defaults,
    check_write,
    parse_field_validation,
    prune,
    validate_write,
)

CRD_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "crds"

Schema = dict[str, Any]


@pytest.fixture(scope="module")
def job_schema() -> Schema:
    if not CRD_DIR.is_dir():
        pytest.skip("shared CRDs not available")
    (job,) = [c for c in load_crds(CRD_DIR / "volcano") if c.kind == "Job"]
    schema = job.storage_version.schema
    assert schema is not None
    return schema


def job(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": "j", "namespace": "default"},
        "spec": {"minAvailable": 1, "tasks": [{"name": "w", "replicas": 1, "template": {}}], **spec},
    }


def test_prune_reports_paths_and_copies(job_schema: Schema) -> None:
    obj = job(bogus=1)
    obj["spec"]["tasks"][0]["extra"] = {"deep": True}
    obj["spec"]["tasks"][0]["template"] = {
        "spec": {"containers": [{"name": "c", "image": "x", "imagePullPolicyy": "Always"}]}
    }
    obj["metadata"]["owner"] = "me"
    obj["unknownTop"] = 1
    pruned, unknown = prune(obj, job_schema)
    # metadata first (it is coerced before pruning), then in the object's key order
    assert unknown == [
        "metadata.owner",
        "spec.tasks[0].template.spec.containers[0].imagePullPolicyy",
        "spec.tasks[0].extra",
        "spec.bogus",
        "unknownTop",
    ]
    assert "bogus" not in pruned["spec"]
    assert "unknownTop" not in pruned
    assert pruned["metadata"] == {"name": "j", "namespace": "default"}
    assert pruned["spec"]["tasks"][0]["template"]["spec"]["containers"] == [{"name": "c", "image": "x"}]
    # the input is untouched
    assert obj["spec"]["bogus"] == 1
    assert obj["metadata"]["owner"] == "me"


def test_prune_keeps_root_type_meta_and_metadata_without_schema_properties() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}},
    }
    obj = {
        "apiVersion": "x/v1",
        "kind": "X",
        "metadata": {"name": "n", "labels": {"a": "b"}},
        "spec": {"a": "1", "b": 2},
    }
    pruned, unknown = prune(obj, schema)
    assert unknown == ["spec.b"]
    assert pruned == {
        "apiVersion": "x/v1",
        "kind": "X",
        "metadata": {"name": "n", "labels": {"a": "b"}},
        "spec": {"a": "1"},
    }


def test_preserve_unknown_fields_and_nested_known_properties() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "properties": {"strict": {"type": "object", "properties": {"x": {"type": "string"}}}},
            }
        },
    }
    obj = {"kind": "X", "spec": {"free": {"any": [1, {"thing": 2}]}, "strict": {"x": "1", "y": 2}}}
    pruned, unknown = prune(obj, schema)
    # unknown fields survive under preserve-unknown-fields, but known properties are still pruned
    assert unknown == ["spec.strict.y"]
    assert pruned["spec"] == {"free": {"any": [1, {"thing": 2}]}, "strict": {"x": "1"}}


def test_metadata_round_trip(job_schema: Schema) -> None:
    obj = job()
    obj["metadata"] = {
        "name": "j",
        "labels": {},
        "annotations": {"a": "b"},
        "generation": 0,
        "finalizers": ["x"],
        "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u", "extra": 1}],
        "clusterName": "legacy",
    }
    pruned, unknown = prune(obj, job_schema)
    assert unknown == ["metadata.ownerReferences[0].extra", "metadata.clusterName"]
    # empty omitempty fields do not survive the typed round trip
    assert pruned["metadata"] == {
        "name": "j",
        "annotations": {"a": "b"},
        "finalizers": ["x"],
        "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u"}],
    }


def test_field_validation_modes(job_schema: Schema) -> None:
    obj = job(foo=1, bar={"x": 1})
    strict = check_write(obj, job_schema, field_validation=FieldValidation.STRICT)
    assert strict.bad_request
    assert not strict.ok
    assert strict.causes == (
        Cause("spec.foo", fe.UNKNOWN_FIELD, 'unknown field "spec.foo"'),
        Cause("spec.bar", fe.UNKNOWN_FIELD, 'unknown field "spec.bar"'),
    )
    assert fe.bad_request_message("Job", "v1alpha1", strict.causes) == (
        'Job in version "v1alpha1" cannot be handled as a Job: '
        'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"'
    )
    warn = check_write(obj, job_schema, field_validation=FieldValidation.WARN)
    assert warn.ok
    assert warn.warnings == ('unknown field "spec.foo"', 'unknown field "spec.bar"')
    assert "foo" not in warn.obj["spec"]
    ignore = check_write(obj, job_schema, field_validation=FieldValidation.IGNORE)
    assert ignore.ok
    assert ignore.warnings == ()
    assert ignore.unknown_fields == ("spec.foo", "spec.bar")
    assert ignore.obj == warn.obj


def test_validate_write_tuple_api(job_schema: Schema) -> None:
    obj = job(foo=1)
    pruned, causes, warnings = validate_write(obj, job_schema, strict=False)
    assert causes == []
    assert warnings == ['unknown field "spec.foo"']
    assert pruned["spec"]["queue"] == "default"
    _, causes, warnings = validate_write(obj, job_schema, strict=True)
    assert [c.message for c in causes] == ['unknown field "spec.foo"']
    assert warnings == []
    assert all(fe.is_decode_error(c) for c in causes)
    # strict with validation errors but no unknown fields: the usual 422 causes
    _, causes, _ = validate_write(job(minAvailable=-2), job_schema, strict=True)
    assert [c.field for c in causes] == ["spec.minAvailable"]
    _, causes, warnings = validate_write(obj, job_schema, field_validation=FieldValidation.IGNORE)
    assert causes == []
    assert warnings == []


def test_unknown_fields_win_over_validation_errors_in_strict_mode(job_schema: Schema) -> None:
    # decoding fails before validation runs, so only the unknown fields are reported
    result = check_write(job(minAvailable=-1, foo=1), job_schema, field_validation=FieldValidation.STRICT)
    assert [c.reason for c in result.causes] == [fe.UNKNOWN_FIELD]


def test_malformed_metadata_is_a_bad_request(job_schema: Schema) -> None:
    obj = job()
    obj["metadata"]["labels"] = "oops"
    result = check_write(obj, job_schema)
    assert result.bad_request
    assert result.causes == (
        Cause(
            "metadata.labels",
            fe.MALFORMED,
            "json: cannot unmarshal string into Go struct field ObjectMeta.labels of type map[string]string",
        ),
    )
    assert fe.bad_request_message("Job", "v1alpha1", result.causes) == (
        'Job in version "v1alpha1" cannot be handled as a Job: '
        "json: cannot unmarshal string into Go struct field ObjectMeta.labels of type map[string]string"
    )
    obj["metadata"] = "nope"
    (cause,) = check_write(obj, job_schema).causes
    assert (cause.field, cause.message) == (
        "metadata",
        "json: cannot unmarshal string into Go value of type v1.ObjectMeta",
    )
    # on reads (prune) malformed metadata fields are dropped instead
    obj["metadata"] = {"name": "j", "labels": "oops"}
    pruned, _ = prune(obj, job_schema)
    assert pruned["metadata"] == {"name": "j"}


def test_missing_kind_and_type_meta(job_schema: Schema) -> None:
    obj = job()
    del obj["kind"]
    (cause,) = check_write(obj, job_schema).causes
    assert cause.reason == fe.MALFORMED
    assert cause.message.startswith("Object 'Kind' is missing in '{")
    wrong = job()
    wrong["kind"] = "Jobz"
    wrong["apiVersion"] = "batch.volcano.sh/v1"
    result = check_write(wrong, job_schema, api_version="batch.volcano.sh/v1alpha1", kind="Job")
    assert result.causes == (
        Cause("kind", fe.INVALID, 'Invalid value: "Jobz": must be Job'),
        Cause("apiVersion", fe.INVALID, 'Invalid value: "batch.volcano.sh/v1": must be batch.volcano.sh/v1alpha1'),
    )
    no_version = job()
    del no_version["apiVersion"]
    assert check_write(no_version, job_schema).causes == (Cause("apiVersion", fe.REQUIRED, "Required value"),)


def test_defaults(job_schema: Schema) -> None:
    obj = job(maxRetry=None)
    defaulted = apply_defaults(obj, job_schema)
    # a non-nullable null with a default gets the default
    assert defaulted["spec"]["maxRetry"] == 3
    assert defaulted["spec"]["queue"] == "default"
    assert obj["spec"]["maxRetry"] is None  # input untouched
    # explicit values win
    assert apply_defaults(job(queue="gpu"), job_schema)["spec"]["queue"] == "gpu"


def test_defaults_apply_inside_defaulted_objects_and_maps() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "default": {},
                "properties": {
                    "policy": {
                        "type": "object",
                        "default": {},
                        "properties": {"mode": {"type": "string", "default": "Auto"}},
                    },
                    "pools": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {"size": {"type": "integer", "default": 1}},
                        },
                    },
                    "steps": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"retries": {"type": "integer", "default": 2}}},
                    },
                },
            }
        },
    }
    out = apply_defaults(
        {"kind": "X", "spec": {"pools": {"a": {}, "b": {"size": 4}}, "steps": [{}, {"retries": 0}]}}, schema
    )
    assert out["spec"] == {
        "pools": {"a": {"size": 1}, "b": {"size": 4}},
        "steps": [{"retries": 2}, {"retries": 0}],
        "policy": {"mode": "Auto"},
    }
    assert apply_defaults({"kind": "X"}, schema)["spec"] == {"policy": {"mode": "Auto"}}


def test_parse_field_validation() -> None:
    assert parse_field_validation(None) is FieldValidation.WARN
    assert parse_field_validation("") is FieldValidation.WARN
    assert parse_field_validation("Strict") is FieldValidation.STRICT
    assert parse_field_validation("Ignore") is FieldValidation.IGNORE
    with pytest.raises(InvalidFieldValidationError) as err:
        parse_field_validation("strict")
    assert err.value.cause == Cause(
        "fieldValidation",
        fe.NOT_SUPPORTED,
        'Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"',
    )


def test_no_schema_means_no_pruning() -> None:
    obj = {"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n", "junk": 1}, "anything": {"goes": 1}}
    result = check_write(obj, None)
    assert result.ok
    assert result.obj["anything"] == {"goes": 1}
    # metadata is still ObjectMeta
    assert result.warnings == ('unknown field "metadata.junk"',)
