"""The store's copy-on-write: versions share what a write left alone, never change in place,
and hand out private copies only where asked to."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from kurator_sim import errors, testing
from kurator_sim.clock import SimClock
from kurator_sim.resources import ResourceType
from kurator_sim.store.objects import Obj, ObjectStore, Operation

DEPLOYMENTS = ("apps", "deployments")


@pytest.fixture
def store() -> ObjectStore:
    return ObjectStore(name="test", registry=testing.load_registry(None), clock=SimClock())


def _rt(store: ObjectStore) -> ResourceType:
    return store.registry.by_key(DEPLOYMENTS)


def _deployment(name: str = "web", replicas: int = 1) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
    }


def _status(replicas: int) -> dict[str, Any]:
    return {"metadata": {"name": "web"}, "status": {"replicas": replicas, "conditions": [{"type": "Available"}]}}


def test_a_status_write_shares_the_spec_and_leaves_the_previous_version_alone(store: ObjectStore) -> None:
    rt = _rt(store)
    store.create(rt, "default", _deployment())
    before = store.peek(rt, "default", "web")
    assert before is not None
    store.update(rt, "default", "web", _status(1), subresource="status")
    after = store.peek(rt, "default", "web")
    assert after is not None
    assert after is not before
    assert after["spec"] is before["spec"]
    assert after["metadata"] is not before["metadata"]
    assert "status" not in before
    assert before["metadata"]["resourceVersion"] != after["metadata"]["resourceVersion"]
    assert after["status"]["replicas"] == 1


def test_a_spec_write_shares_the_stored_status(store: ObjectStore) -> None:
    rt = _rt(store)
    store.create(rt, "default", _deployment())
    store.update(rt, "default", "web", _status(1), subresource="status")
    before = store.peek(rt, "default", "web")
    assert before is not None
    store.update(rt, "default", "web", _deployment(replicas=3))
    after = store.peek(rt, "default", "web")
    assert after is not None
    assert after["status"] is before["status"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert before["spec"]["replicas"] == 1


def test_writes_copy_the_callers_object_unless_it_is_handed_over(store: ObjectStore) -> None:
    rt = _rt(store)
    mine = _deployment()
    store.create(rt, "default", mine)
    mine["spec"]["replicas"] = 7
    stored = store.peek(rt, "default", "web")
    assert stored is not None
    assert stored["spec"]["replicas"] == 1

    given = _deployment("given")
    store.create(rt, "default", given, copy_input=False)
    kept = store.peek(rt, "default", "given")
    assert kept is not None
    assert kept["spec"] is given["spec"]
    assert kept["metadata"]["uid"]

    replacement = _deployment("given", replicas=2)
    store.update(rt, "default", "given", replacement, copy_input=False)
    kept = store.peek(rt, "default", "given")
    assert kept is not None
    assert kept["spec"] is replacement["spec"]

    status = _status(2)
    status["metadata"]["name"] = "given"
    store.update(rt, "default", "given", status, subresource="status", copy_input=False)
    kept = store.peek(rt, "default", "given")
    assert kept is not None
    assert kept["status"] is status["status"]


def test_admission_hooks_edit_a_private_copy(store: ObjectStore) -> None:
    rt = _rt(store)

    def hook(operation: Operation, new: Obj, old: Obj | None) -> None:
        new["spec"]["template"]["spec"]["containers"][0]["image"] = f"nginx-{operation.lower()}"

    store.add_admission(DEPLOYMENTS, hook)
    given = _deployment()
    store.create(rt, "default", given, copy_input=False)
    assert given["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
    before = store.peek(rt, "default", "web")
    assert before is not None
    store.update(rt, "default", "web", _status(1), subresource="status")
    assert before["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx-create"
    after = store.peek(rt, "default", "web")
    assert after is not None
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx-update"


def test_copies_are_private_and_views_are_the_stored_objects(store: ObjectStore) -> None:
    rt = _rt(store)
    store.create(rt, "default", _deployment())
    stored = store.peek(rt, "default", "web")
    copy = store.get(rt, "default", "web")
    assert copy == stored
    assert copy["spec"] is not stored["spec"]
    assert store.view(rt, "default", "web") is stored
    assert store.view(rt, "default", "nope") is None
    assert store.list(rt, "default", copy_items=False).items[0] is stored
    assert store.list(rt, "default").items[0]["spec"] is not stored["spec"]


def test_a_read_of_another_served_version_is_a_shallow_view(store: ObjectStore) -> None:
    rt = _rt(store)
    store.create(rt, "default", _deployment())
    stored = store.peek(rt, "default", "web")
    assert stored is not None
    other = dataclasses.replace(rt, version="v1beta2")
    view = store.view(other, "default", "web")
    assert view is not None
    assert view["apiVersion"] == "apps/v1beta2"
    assert stored["apiVersion"] == "apps/v1"
    assert view["spec"] is stored["spec"]


def test_a_deletion_mark_is_a_new_version_sharing_the_rest(store: ObjectStore) -> None:
    rt = _rt(store)
    obj = _deployment()
    obj["metadata"]["finalizers"] = ["example.com/keep"]
    store.create(rt, "default", obj)
    before = store.peek(rt, "default", "web")
    assert before is not None
    _, gone = store.delete(rt, "default", "web")
    after = store.peek(rt, "default", "web")
    assert not gone
    assert after is not None
    assert after["metadata"]["deletionTimestamp"]
    assert "deletionTimestamp" not in before["metadata"]
    assert after["spec"] is before["spec"]


def test_generation_and_resource_version_follow_what_a_write_changes(store: ObjectStore) -> None:
    rt = _rt(store)
    store.create(rt, "default", _deployment())

    def versions() -> tuple[int, str]:
        obj = store.peek(rt, "default", "web")
        assert obj is not None
        return obj["metadata"]["generation"], obj["metadata"]["resourceVersion"]

    gen, rv = versions()
    store.update(rt, "default", "web", _deployment())
    assert versions() == (gen, rv)  # a no-op write bumps nothing
    relabelled = _deployment()
    relabelled["metadata"]["labels"]["tier"] = "front"
    store.update(rt, "default", "web", relabelled)
    gen2, rv2 = versions()
    assert gen2 == gen
    assert int(rv2) > int(rv)
    store.update(rt, "default", "web", _status(1), subresource="status")
    gen3, rv3 = versions()
    assert gen3 == gen
    assert int(rv3) > int(rv2)
    store.update(rt, "default", "web", _status(1), subresource="status")
    assert versions() == (gen3, rv3)
    rescaled = _deployment(replicas=5)
    rescaled["metadata"]["labels"]["tier"] = "front"
    store.update(rt, "default", "web", rescaled)
    gen4, rv4 = versions()
    assert gen4 == gen + 1
    assert int(rv4) > int(rv3)
    extra = dict(rescaled)
    extra["data"] = {"new": "top-level field"}
    store.update(rt, "default", "web", extra)
    assert versions()[0] == gen + 2


def test_raw_iteration_and_peek_read_the_stored_objects(store: ObjectStore) -> None:
    rt = _rt(store)
    assert list(store.iter_raw(rt)) == []
    assert store.peek(rt, "default", "web") is None
    store.ensure_namespace("other")
    store.create(rt, "default", _deployment("a"))
    store.create(rt, "other", _deployment("b"))
    assert sorted(o["metadata"]["name"] for o in store.iter_raw(rt)) == ["a", "b"]
    assert [o["metadata"]["name"] for o in store.iter_raw(rt, "other")] == ["b"]
    assert next(iter(store.iter_raw(rt, "other"))) is store.peek(rt, "other", "b")


def test_a_controllers_status_write_stores_what_a_status_update_stores() -> None:
    stores = [ObjectStore(name=f"s{i}", registry=testing.load_registry(None), clock=SimClock()) for i in range(2)]
    results: list[list[Any]] = [[], []]
    for store, out in zip(stores, results, strict=True):
        rt = _rt(store)
        store.create(rt, "default", _deployment())
        stored = store.peek(rt, "default", "web")
        assert stored is not None
        for replicas in (1, 1, 2):
            status = {"replicas": replicas, "conditions": [{"type": "Available"}]}
            if store is stores[0]:
                written = store.replace_status(rt, "default", "web", stored, status)
            else:
                written = store.update(
                    rt, "default", "web", {**stored, "status": status}, subresource="status", copy_result=False
                )
            stored = store.peek(rt, "default", "web")
            assert stored is not None
            out.append((written, store.resource_version))
    (fast, general) = results
    for (a, rv_a), (b, rv_b) in zip(fast, general, strict=True):
        assert rv_a == rv_b  # the same writes bump the version, the no-op second one does not
        assert {**a, "metadata": {**a["metadata"], "uid": "-"}} == {**b, "metadata": {**b["metadata"], "uid": "-"}}
    assert fast[-1][0]["metadata"]["generation"] == 1


def test_a_controllers_status_write_over_a_stale_read_conflicts(store: ObjectStore) -> None:
    rt = _rt(store)
    store.create(rt, "default", _deployment())
    stale = store.peek(rt, "default", "web")
    assert stale is not None
    store.replace_status(rt, "default", "web", stale, {"replicas": 1})
    with pytest.raises(errors.ApiError, match="the object has been modified") as raised:
        store.replace_status(rt, "default", "web", stale, {"replicas": 2})
    assert raised.value.code == 409
