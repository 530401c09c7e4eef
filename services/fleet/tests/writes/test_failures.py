"""What each Karmada error means for the intent (``kurator_fleet.failures``), without a server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kurator_fleet import failures
from shared import errors
from shared.k8s import errors as k8s_errors

CAUSE = k8s_errors.Cause("spec.replicas", "FieldValueInvalid", "must be >= 0")


def test_invalid_causes_are_nested_under_the_field() -> None:
    with (
        pytest.raises(errors.InvalidIntent) as info,
        failures.writing("Deployment shop/web", field="spec.templates[2]"),
    ):
        raise k8s_errors.Invalid("bad", status=422, reason="Invalid", causes=(CAUSE,))
    [reason] = info.value.reasons
    assert (reason.field, reason.reason) == ("spec.templates[2].spec.replicas", "FieldValueInvalid")
    assert reason.message == "Karmada refused Deployment shop/web: must be >= 0"


def test_causes_of_a_derived_object_stay_on_the_field() -> None:
    cause = k8s_errors.Cause("spec.apiEndpoint", "SomethingNew", "cannot parse")
    with (
        pytest.raises(errors.InvalidIntent) as info,
        failures.writing("the Cluster", field="spec.kubeconfig", nest=False),
    ):
        raise k8s_errors.Invalid("bad", status=422, reason="Invalid", causes=(cause,))
    [reason] = info.value.reasons
    assert (reason.field, reason.reason) == ("spec.kubeconfig", "FieldValueInvalid")
    assert "spec.apiEndpoint: cannot parse" in reason.message


def test_a_denial_without_causes_names_the_object() -> None:
    with pytest.raises(errors.InvalidIntent) as info, failures.writing("PropagationPolicy a/b"):
        raise k8s_errors.BadRequest("admission webhook denied the request", status=400)
    assert [(r.field, r.message) for r in info.value.reasons] == [
        ("<root>", "Karmada refused PropagationPolicy a/b: admission webhook denied the request")
    ]


def test_a_kind_not_served_is_rejected_on_kind() -> None:
    with pytest.raises(errors.InvalidIntent) as info, failures.writing("Widget w", field="spec.templates[0]"):
        raise k8s_errors.NotFound('no kind "Widget" is served in version "example.com/v1"', status=404)
    assert [(r.field, r.reason) for r in info.value.reasons] == [("spec.templates[0].kind", "FieldValueNotSupported")]


def test_a_missing_object_is_not_a_statement_about_the_intent() -> None:
    with pytest.raises(k8s_errors.NotFound), failures.writing("x"):
        raise k8s_errors.NotFound("gone", status=404, details={"name": "x", "kind": "configmaps"})


@pytest.mark.parametrize(
    ("error", "delay"),
    [
        (k8s_errors.Conflict("c", status=409), 1),
        (k8s_errors.ServerError("s", status=500), 2),
        (k8s_errors.Unavailable("u"), 5),
        (k8s_errors.TooManyRequests("t", status=429, retry_after_seconds=7), 7),
        (k8s_errors.Forbidden("rbac", status=403), 30),
    ],
)
def test_transient_and_operator_fixable_errors_are_retried(error: k8s_errors.ApiError, delay: int) -> None:
    with pytest.raises(errors.RetryableError) as info, failures.writing("x"):
        raise error
    assert info.value.delay == timedelta(seconds=delay)
    assert info.value.__cause__ is error


def test_anything_else_propagates_unchanged() -> None:
    with pytest.raises(k8s_errors.MethodNotAllowed), failures.writing("x"):
        raise k8s_errors.MethodNotAllowed("no", status=405)
