"""The status followers' handling of single messages (no bus: messages as nats-py delivers them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from nats.aio.msg import Msg

from kurator_apps.federated import follow, observed, tracker

Obj = dict[str, Any]
AT = ("default", "frontend-app")
OURS = "kurator/apps/replica-1/federated"
SUBJECT = "kurator.status.apps.federateddeployment.default.frontend-app"


def delivered(subject: str, document: Obj, *, seq: int, source: str = "kurator/apps/replica-2") -> Msg:
    reply = f"$JS.ACK.KURATOR_STATUS.consumer.1.{seq}.{seq}.1700000000000000000.0"
    return Msg(None, subject, reply, orjson.dumps(document), {"ce-source": source})  # type: ignore[arg-type]


@pytest.fixture
def state(seeded: tracker.Tracker) -> tracker.Tracker:
    return seeded


def test_own_statuses_are_not_read_again_but_a_restart_resumes_from_them(state: tracker.Tracker) -> None:
    body = state.evaluate(AT, now=datetime.now(UTC))
    assert body is not None
    sources = frozenset({OURS})
    # A restarted process knows no status yet: its own former ones are read (to resume).
    follow._own_message(state, delivered(SUBJECT, {"status": body}, seq=3, source=OURS), sources)
    assert not state.changed(AT, body)
    state.dirty.clear()
    state.published(AT, {**body, "phase": "Available"}, sequence=4)
    unreadable = Msg(None, SUBJECT, "", b"not json", {"ce-source": OURS})  # type: ignore[arg-type]
    follow._own_message(state, unreadable, sources)  # its own: not even parsed
    assert AT not in state.dirty
    theirs = {**body, "observedGeneration": 2}
    follow._own_message(state, delivered(SUBJECT, {"status": theirs}, seq=5), sources)
    assert AT in state.dirty
    assert state.changed(AT, {**body, "phase": "Available"})


def test_deployments_that_are_no_federated_deployments_are_not_parsed(state: tracker.Tracker) -> None:
    other = Msg(None, "kurator.status.fleet.deployment.default.someone-else", "", b"not json")  # type: ignore[arg-type]
    follow._deployment_message(state, other)
    assert AT not in state.dirty
    doc = {"status": {"placement": {"clusters": [{"name": "cluster-beijing", "replicas": 2, "status": {}}]}}}
    follow._deployment_message(state, delivered("kurator.status.fleet.deployment.default.frontend-app", doc, seq=9))
    assert AT in state.dirty
    assert observed.members(doc) == (observed.Member("cluster-beijing", 2, 0),)


def test_the_read_loop_drops_exactly_the_own_statuses_the_tracker_would_ignore(state: tracker.Tracker) -> None:
    """:class:`follow.OwnEchoes` (the read loop's skip) picks what :func:`follow._own_message` ignores."""
    from shared.bus import wire

    echoes = follow.OwnEchoes(state, frozenset({OURS, "kurator/apps/replica-1"}))

    def raw(source: str, subject: str = SUBJECT) -> tuple[bytes, bytes, bytes]:
        block = wire.encode_headers({"ce-specversion": "1.0", "ce-source": source, "ce-id": "x"})
        return subject.encode(), b"$JS.ACK.KURATOR_STATUS.c.1.7.7.1700000000000000000.0", block

    assert not echoes(*raw(OURS))  # no status known yet (a restart): read, to resume from it
    body = state.evaluate(AT, now=datetime.now(UTC))
    assert body is not None
    state.published(AT, body)
    assert echoes(*raw(OURS))
    assert echoes(*raw("kurator/apps/replica-1"))  # the processor's answer, same process
    assert not echoes(*raw("kurator/apps/replica-2"))  # another replica's: always read
    assert not echoes(*raw(OURS + "/other"))
    assert not echoes(*raw("kurator/apps/replica-1/federated-too"))
    assert not echoes(*raw(OURS, "kurator.status.apps.federateddeployment.default.someone-else"))
    assert not echoes(*raw(OURS, "not.an.object.subject"))
    for source, dropped in ((OURS, True), ("kurator/apps/replica-2", False)):
        state.dirty.clear()
        follow._own_message(
            state,
            delivered(SUBJECT, {"status": {**body, "phase": "Available"}}, seq=9, source=source),
            frozenset({OURS}),
        )
        assert (AT not in state.dirty) is dropped
