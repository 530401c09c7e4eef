"""The intent processor with a real bus: accept, reject, idempotency, order, delete."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import orjson
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from shared import errors
from shared.bus import client, reader
from shared.bus.publisher import Publisher
from shared.contracts import cloudevents, subjects
from shared.runtime import intents
from shared.testing import services
from shared.testing.eventually import eventually

PP: dict[str, Any] = {
    "apiVersion": "policy.karmada.io/v1alpha1",
    "kind": "PropagationPolicy",
    "metadata": {"name": "nginx-propagation", "namespace": "default"},
    "spec": {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}],
        "placement": {
            "clusterAffinity": {"clusterNames": ["cluster-beijing", "cluster-shanghai"]},
            "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
        },
    },
}


def pp(name: str = "nginx-propagation", **spec_changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(PP)
    doc["metadata"]["name"] = name
    doc["spec"].update(spec_changes)
    return doc


def addr(name: str = "nginx-propagation", namespace: str | None = "default") -> subjects.ObjectAddress:
    return subjects.ObjectAddress("fleet", "propagationpolicy", namespace, name)


async def apply(nc: Client, *docs: dict[str, Any], verb: str = cloudevents.APPLY) -> list[client.Answer]:
    reqs = [(addr(d["metadata"]["name"]), d) for d in docs]
    return await client.submit(nc, reqs, verb=verb, timeout_seconds=10)


async def test_apply_creates_then_updates_then_is_unchanged(nc: Client, nats_url: str) -> None:
    """Generation moves only when the content changes; the same intent twice changes nothing."""
    async with services.running("fleet", nats_url=nats_url):
        [first] = await apply(nc, pp())
        [again] = await apply(nc, pp())
        [changed] = await apply(nc, pp(placement={"clusterAffinity": {"clusterNames": ["cluster-beijing"]}}))
    assert (first.result, again.result, changed.result) == ("created", "unchanged", "updated")
    assert first.status is not None
    assert again.status is not None
    assert changed.status is not None
    assert first.status["metadata"]["generation"] == again.status["metadata"]["generation"] == 1
    assert changed.status["metadata"]["generation"] == 2
    assert changed.status["status"]["observedGeneration"] == 2
    assert first.status["metadata"]["uid"] == changed.status["metadata"]["uid"]
    assert first.status["status"]["phase"] == "Accepted"


async def test_same_intent_id_published_twice_is_deduplicated(nc: Client, js: JetStreamContext, nats_url: str) -> None:
    """JetStream drops the second copy of an intent with the same ce-id (Nats-Msg-Id)."""
    async with services.running("fleet", nats_url=nats_url):
        pub = Publisher(nc, source="test")
        env = cloudevents.Envelope.new(source="test", type=cloudevents.type_name("fleet", "propagationpolicy", "apply"))
        _, ack1 = await pub.publish(subjects.intent(addr()), pp(), ce_type=env.type, envelope=env)
        _, ack2 = await pub.publish(subjects.intent(addr()), pp(), ce_type=env.type, envelope=env)
        assert not ack1.duplicate
        assert ack2.duplicate
        found = await eventually(lambda: reader.last(js, subjects.status(addr())), message="status")
    assert found.document["metadata"]["generation"] == 1


async def test_broken_manifests_are_rejected_with_field_reasons_and_do_not_block(nc: Client, nats_url: str) -> None:
    """Each broken intent names its field; the valid one published after them is still accepted."""
    broken = [
        pp("no-selectors", resourceSelectors=[]),
        pp("Bad_Name"),
        pp("bad-type", placement={"replicaScheduling": {"replicaSchedulingType": "Sometimes"}}),
        pp("both-affinities", placement={"clusterAffinity": {}, "clusterAffinities": [{"affinityName": "a"}]}),
    ]
    async with services.running("fleet", nats_url=nats_url):
        answers = await apply(nc, *broken, pp("good"))
    fields = {a.address.name: [r["field"] for r in a.reasons] for a in answers}
    assert [a.result for a in answers] == ["rejected"] * 4 + ["created"]
    assert fields["no-selectors"] == ["spec.resourceSelectors"]
    assert fields["Bad_Name"] == ["metadata.name"]
    assert fields["bad-type"] == ["spec.placement.replicaScheduling.replicaSchedulingType"]
    assert fields["both-affinities"][0].startswith("spec.placement")


async def test_document_must_match_its_subject(nc: Client, js: JetStreamContext, nats_url: str) -> None:
    """An intent whose name or kind disagrees with its subject is rejected, naming the field."""
    async with services.running("fleet", nats_url=nats_url):
        wrong_name = await client.submit(nc, [(addr("other"), pp("nginx-propagation"))], timeout_seconds=10)
        deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {}}
        wrong_kind = await client.submit(nc, [(addr("x"), deployment)], timeout_seconds=10)
        not_json = Publisher(nc, source="test")
        rejections: list[dict[str, Any]] = []

        async def on(msg: Any) -> None:
            rejections.append(orjson.loads(msg.data))

        await nc.subscribe(subjects.rejected("fleet"), cb=on)
        await not_json.publish(subjects.intent(addr("raw")), b"{not json", ce_type="x")
        await eventually(lambda: _ready(rejections), message="rejection of non-JSON")
    assert wrong_name[0].reasons[0]["field"] == "metadata.name"
    assert wrong_kind[0].reasons[0]["field"] == "kind"
    assert rejections[0]["reasons"][0]["field"] == "<body>"


async def test_bare_json_without_cloudevents_headers_is_accepted(nc: Client, nats_url: str) -> None:
    """A publisher that sends plain JSON with no ce-* headers still gets its intent applied."""
    async with services.running("fleet", nats_url=nats_url):
        await nc.jetstream().publish(subjects.intent(addr()), orjson.dumps(pp()))
        found = await eventually(lambda: reader.last(nc.jetstream(), subjects.status(addr())), message="status")
    assert found.phase == "Accepted"
    assert found.causation_id == "KURATOR_INTENTS-1"


async def test_older_intent_arriving_late_is_skipped(nc: Client, js: JetStreamContext, nats_url: str) -> None:
    """The revision check: once seq N is applied, an intent with a lower sequence cannot overwrite it."""
    async with services.running("fleet", nats_url=nats_url) as replica:
        [old] = await apply(nc, pp(placement={"clusterAffinity": {"clusterNames": ["old"]}}))
        [new] = await apply(nc, pp(placement={"clusterAffinity": {"clusterNames": ["new"]}}))
        assert (old.result, new.result) == ("created", "updated")
        # Replay the first intent's message to the processor as if a slow replica delivered it now.
        raw = await js.get_msg(subjects.INTENTS_STREAM, 1)
        assert replica.intent_consumer is not None
        kv = await js.key_value(subjects.kv_bucket("fleet"))
        before = await kv.get(addr().key)
        with pytest.raises(errors.BenignError, match="older than the applied 2"):
            await replica_processor(replica)(_fake_delivery(raw))
    after = await kv.get(addr().key)
    assert after.revision == before.revision  # nothing written
    assert orjson.loads(after.value or b"")["document"]["spec"]["placement"]["clusterAffinity"] == {
        "clusterNames": ["new"]
    }


async def test_delete_publishes_deleted_then_leaves_the_cache(nc: Client, js: JetStreamContext, nats_url: str) -> None:
    """Delete: a final Deleted status that live watchers see, then the subject is purged."""
    async with services.running("fleet", nats_url=nats_url, deleted_linger_seconds=0.2):
        await apply(nc, pp())
        seen: list[str | None] = []

        async def follow() -> None:
            async for msg in reader.watch(js, subjects.statuses("fleet")):
                seen.append(msg.phase)

        watcher = asyncio.create_task(follow())
        await eventually(lambda: _ready(seen), message="watch sees the object")
        [gone] = await apply(nc, pp(), verb=cloudevents.DELETE)
        [missing] = await apply(nc, pp(), verb=cloudevents.DELETE)
        await eventually(lambda: _ready("Deleted" in seen), message="watch sees Deleted")
        watcher.cancel()
        await eventually(lambda: _none(reader.last(js, subjects.status(addr()))), message="purged")
        [recreated] = await apply(nc, pp())
    assert (gone.result, missing.result) == ("deleted", "not-found")
    assert missing.reasons[0]["field"] == "metadata.name"
    assert recreated.result == "created"
    assert recreated.status is not None
    assert recreated.status["metadata"]["generation"] == 1


async def test_late_watcher_sees_current_state_of_every_object(nc: Client, js: JetStreamContext, nats_url: str) -> None:
    """A subscriber that arrives after the fact gets the last status of every object at once."""
    async with services.running("fleet", nats_url=nats_url):
        await apply(nc, *(pp(f"p{i}") for i in range(25)))
        await apply(nc, pp("p3", placement={"clusterAffinity": {"clusterNames": ["x"]}}))
    got: dict[str, int] = {}

    async def follow() -> None:
        async for msg in reader.watch(js, subjects.statuses("fleet", "propagationpolicy", "default")):
            got[msg.document["metadata"]["name"]] = msg.document["metadata"]["generation"]

    watcher = asyncio.create_task(follow())
    await eventually(lambda: _ready(len(got) == 25), message="25 objects")
    watcher.cancel()
    assert got["p3"] == 2
    assert got["p0"] == 1
    snap = await reader.snapshot(js, subjects.statuses("fleet"))
    assert len(snap) == 25


async def _ready(value: object) -> bool:
    return bool(value)


async def _none(probe: Any) -> bool:
    return (await probe) is None


def replica_processor(replica: Any) -> Any:
    return replica.processor


def _fake_delivery(raw: Any) -> Any:
    """The stored intent ``raw`` as its first delivery from the fleet's consumer."""
    from nats.aio.msg import Msg

    from shared.bus import messages

    reply = f"$JS.ACK.{subjects.INTENTS_STREAM}.kurator-fleet.1.{raw.seq}.1.0.0"
    msg = Msg(None, subject=raw.subject, reply=reply, data=raw.data, headers=raw.headers)
    return messages.Delivery.wrap(msg, service="fleet")


class FirstApplies:
    """A handler that records which of its methods the processor called."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def on_apply(self, obj: Any, record: Any) -> dict[str, Any]:
        self.calls.append("on_apply")
        return intents.accepted_status(record)

    async def on_first_apply(self, obj: Any, record: Any) -> dict[str, Any]:
        self.calls.append("on_first_apply")
        return intents.accepted_status(record)

    async def on_delete(self, record: Any) -> None:
        self.calls.append("on_delete")


async def test_a_first_apply_is_told_only_when_no_record_existed(nc: Client, nats_url: str) -> None:
    """Not after an update, nor after a delete (its tombstone is a record), nor on a replica that
    never saw the object (its write as "must not exist" fails, so it reads the record)."""
    handler = FirstApplies()
    async with services.running("fleet", nats_url=nats_url, handlers={"propagationpolicy": handler}):
        await apply(nc, pp())
        await apply(nc, pp(placement={"clusterAffinity": {"clusterNames": ["cluster-beijing"]}}))
        await apply(nc, pp(), verb=cloudevents.DELETE)
        await apply(nc, pp())
        await apply(nc, pp("another"))
    async with services.running("fleet", nats_url=nats_url, handlers={"propagationpolicy": handler}):
        [again] = await apply(nc, pp("another", placement={"clusterAffinity": {"clusterNames": ["x"]}}))
    assert again.result == "updated"
    assert handler.calls == ["on_first_apply", "on_apply", "on_delete", "on_apply", "on_first_apply", "on_apply"]
    assert isinstance(handler, intents.FirstApplyHandler)
    assert not isinstance(intents.AcceptingHandler(), intents.FirstApplyHandler)
