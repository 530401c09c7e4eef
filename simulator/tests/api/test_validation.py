"""Schema validation of custom resources on write (CRD files from ../shared/crds): 422 with
causes naming fields, ``fieldValidation`` Strict/Warn/Ignore, pruning and defaulting; and
no validation at all when the simulator was started without CRD files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from kurator_sim import testing
from kurator_sim.testing import call

pytestmark = pytest.mark.skipif(not testing.SHARED_CRDS.is_dir(), reason="../shared/crds is not present")

JOBS = "/apis/batch.volcano.sh/v1alpha1/namespaces/default/jobs"


def job(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch.volcano.sh/v1alpha1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "minAvailable": 1,
            "tasks": [
                {"name": "ps", "replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}
            ],
            **spec,
        },
    }


async def test_invalid_job_is_422_naming_the_field(http: aiohttp.ClientSession) -> None:
    reply = await call(http, "POST", JOBS, job("bad", minAvailable="three"))
    assert reply.status == 422
    assert reply.body["reason"] == "Invalid"
    assert reply.body["details"]["kind"] == "Job"
    assert reply.body["details"]["group"] == "batch.volcano.sh"
    assert reply.body["details"]["name"] == "bad"
    fields = [c["field"] for c in reply.body["details"]["causes"]]
    assert "spec.minAvailable" in fields
    assert reply.body["message"].startswith('Job.batch.volcano.sh "bad" is invalid: spec.minAvailable')
    negative = await call(http, "POST", JOBS, job("neg", minAvailable=-1))
    assert negative.status == 422
    assert "spec.minAvailable" in negative.body["message"]


async def test_unknown_fields_by_field_validation(http: aiohttp.ClientSession) -> None:
    strict = await call(http, "POST", JOBS + "?fieldValidation=Strict", job("strict", foo=1))
    assert strict.status == 400
    assert strict.body["reason"] == "BadRequest"
    assert strict.body["message"] == (
        'Job in version "v1alpha1" cannot be handled as a Job: strict decoding error: unknown field "spec.foo"'
    )

    warned = await call(http, "POST", JOBS, job("warn", foo=1))
    assert warned.status == 201
    assert warned.headers.getall("Warning") == ['299 - "unknown field \\"spec.foo\\""']
    assert "foo" not in warned.body["spec"]

    ignored = await call(http, "POST", JOBS + "?fieldValidation=Ignore", job("ignore", foo=1))
    assert ignored.status == 201
    assert "Warning" not in ignored.headers
    assert "foo" not in ignored.body["spec"]

    bad_mode = await call(http, "POST", JOBS + "?fieldValidation=Loud", job("x"))
    assert bad_mode.status == 400


async def test_defaults_from_the_schema_are_applied(http: aiohttp.ClientSession) -> None:
    pp = "/apis/policy.karmada.io/v1alpha1/namespaces/default/propagationpolicies"
    body = {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": "d"},
        "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}], "placement": {}},
    }
    reply = await call(http, "POST", pp, body)
    assert reply.status == 201
    assert reply.body["spec"]["conflictResolution"] == "Abort"


async def test_updates_and_patches_are_validated_too(http: aiohttp.ClientSession) -> None:
    created = (await call(http, "POST", JOBS, job("upd"))).body
    bad = dict(created, spec=dict(created["spec"], minAvailable="x"))
    assert (await call(http, "PUT", f"{JOBS}/upd", bad)).status == 422
    patched = await call(
        http, "PATCH", f"{JOBS}/upd", {"spec": {"minAvailable": "x"}}, content_type="application/merge-patch+json"
    )
    assert patched.status == 422
    applied = await call(
        http,
        "PATCH",
        f"{JOBS}/upd?fieldManager=a&fieldValidation=Strict",
        {"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job", "metadata": {"name": "upd"}, "spec": {"bar": 1}},
        content_type="application/apply-patch+yaml",
    )
    assert applied.status == 400


@pytest.fixture
async def unvalidated() -> AsyncIterator[aiohttp.ClientSession]:
    async with testing.serve() as sim, aiohttp.ClientSession(base_url=sim.base_url) as session:
        yield session


async def test_without_crd_files_kinds_are_served_unvalidated(unvalidated: aiohttp.ClientSession) -> None:
    reply = await call(unvalidated, "POST", JOBS, job("anything", minAvailable="three", foo=1))
    assert reply.status == 201
    assert reply.body["spec"]["foo"] == 1
