"""Library errors become our typed errors, chained to the original.

From real answers of the simulator (404, 409 AlreadyExists-free apply conflicts, 422 with
causes, an unreachable server) and from ``ApiException``s built by hand for statuses the
simulator does not produce on demand (403, 429, 5xx, non-``Status`` bodies).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from kubernetes_asyncio.client.exceptions import ApiException

from kurator_sim import testing
from shared.k8s import connection, errors, objects, resources

CRDS = testing.SHARED_CRDS if testing.SHARED_CRDS.is_dir() else None


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[objects.Objects]:
    async with testing.serve(crd_dir=CRDS) as sim:
        kube = await connection.api_client(sim.write_kubeconfig(tmp_path / "kubeconfig"))
        try:
            yield objects.Objects(kube, field_manager="kurator-test")
        finally:
            await kube.close()


def _exception(status: int, body: Any, reason: str = "") -> ApiException:
    exc = ApiException(status=status, reason=reason)
    exc.body = body if isinstance(body, str) else orjson.dumps(body).decode()
    return exc


def _status(code: int, reason: str, message: str = "m", **details: Any) -> dict[str, Any]:
    return {
        "kind": "Status",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        "details": details,
    }


@pytest.mark.parametrize(
    ("code", "reason", "expected", "transient"),
    [
        (400, "BadRequest", errors.BadRequest, False),
        (401, "Unauthorized", errors.Unauthorized, False),
        (403, "Forbidden", errors.Forbidden, False),
        (404, "NotFound", errors.NotFound, False),
        (405, "MethodNotAllowed", errors.MethodNotAllowed, False),
        (409, "AlreadyExists", errors.AlreadyExists, False),
        (409, "Conflict", errors.Conflict, True),
        (410, "Expired", errors.Gone, True),
        (422, "Invalid", errors.Invalid, False),
        (429, "TooManyRequests", errors.TooManyRequests, True),
        (500, "InternalError", errors.ServerError, True),
        (503, "ServiceUnavailable", errors.Unavailable, True),
        (504, "Timeout", errors.ServerError, True),
    ],
)
def test_status_codes_map_to_types(code: int, reason: str, expected: type[errors.ApiError], transient: bool) -> None:
    err = errors.from_api_exception(_exception(code, _status(code, reason, "went wrong")))
    assert type(err) is expected
    assert (err.status, err.reason, err.message, err.transient) == (code, reason, "went wrong", transient)


def test_causes_and_retry_after_are_kept() -> None:
    body = _status(
        429,
        "TooManyRequests",
        retryAfterSeconds=3,
        causes=[{"reason": "FieldValueInvalid", "message": "bad", "field": "spec.x"}],
    )
    err = errors.from_api_exception(_exception(429, body))
    assert err.retry_after_seconds == 3.0
    assert err.causes == (errors.Cause("spec.x", "FieldValueInvalid", "bad"),)


def test_a_body_that_is_not_a_status_is_cut_short() -> None:
    err = errors.from_api_exception(_exception(502, "<html>" + "x" * 1000, reason="Bad Gateway"))
    assert type(err) is errors.ServerError
    assert len(err.message) == 256


async def test_not_found_from_the_server(api: objects.Objects) -> None:
    with pytest.raises(errors.NotFound) as info:
        await api.get(resources.SECRETS, name="absent", namespace="default")
    assert isinstance(info.value.__cause__, ApiException)
    assert info.value.details["name"] == "absent"


async def test_missing_namespace_is_not_found(api: objects.Objects) -> None:
    body = {"metadata": {"name": "a", "namespace": "nowhere"}, "stringData": {"k": "v"}}
    with pytest.raises(errors.NotFound) as info:
        await api.apply(resources.SECRETS, body)
    assert info.value.details["kind"] == "namespaces"


@pytest.mark.skipif(CRDS is None, reason="../shared/crds is not present")
async def test_invalid_carries_the_field_causes(api: objects.Objects) -> None:
    body = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "p"}],
            "placement": {"replicaScheduling": {"replicaSchedulingType": "Weighted"}},
        },
    }
    with pytest.raises(errors.Invalid) as info:
        await api.apply(resources.PROPAGATION_POLICIES, body)
    assert not info.value.transient
    assert [(c.field, c.reason) for c in info.value.causes] == [
        ("spec.placement.replicaScheduling.replicaSchedulingType", "FieldValueNotSupported")
    ]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_server_is_unavailable(tmp_path: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{_closed_port()}"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {}}],
        "current-context": "c",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    kube = await connection.api_client(path)
    try:
        with pytest.raises(errors.Unavailable) as info:
            await objects.Objects(kube, field_manager="kurator-test").get(resources.SECRETS, name="a", namespace="x")
        assert info.value.transient
    finally:
        await kube.close()
