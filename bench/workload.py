"""The messages the scenarios send: real intents, and raw messages shaped exactly like them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from shared.contracts import cloudevents, kinds, subjects

SOURCE: Final = "kurator/bench/loadgen"
RAW_STREAM: Final = "BENCH_RAW"
RAW_PREFIX: Final = "bench.raw"
NAMESPACE: Final = "default"


def propagation_policy(name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}],
            "placement": {
                "clusterAffinity": {"clusterNames": ["cluster-beijing"]},
                "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
            },
        },
    }


def deployment(name: str, namespace: str = NAMESPACE) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]},
            },
        },
    }


DOCUMENTS: Final = {"propagationpolicy": propagation_policy, "deployment": deployment}


@dataclass(frozen=True, slots=True)
class Workload:
    """Which kind the pipeline scenarios apply, and to which service it routes."""

    token: str
    service: str
    fallback_reason: str | None = None
    """Set when the requested kind could not be used and another was taken instead."""

    def document(self, name: str) -> dict[str, Any]:
        return DOCUMENTS[self.token](name)


def _usable(token: str) -> str | None:
    """``None`` if ``token``'s model imports and accepts the bench document, else why not."""
    doc = DOCUMENTS[token]("bench-check")
    try:
        info = kinds.for_object(doc["apiVersion"], doc["kind"])
        info.model.model_validate(doc)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def choose(token: str, *, fallback: str = "deployment") -> Workload:
    """The workload for ``token``; if its model is missing or rejects the document, ``fallback``."""
    problem = _usable(token)
    chosen = token
    if problem is not None:
        if token == fallback or _usable(fallback) is not None:
            raise SystemExit(f"bench: cannot build a valid {token} intent: {problem}")
        chosen = fallback
    doc = DOCUMENTS[chosen]("bench-check")
    info = kinds.for_object(doc["apiVersion"], doc["kind"])
    reason = None if problem is None else f"{token} unusable ({problem}); using {fallback}"
    return Workload(token=info.token, service=info.service, fallback_reason=reason)


@dataclass(frozen=True, slots=True)
class Message:
    """One pre-built message: built before the clock starts so the load generator only sends."""

    id: str
    subject: str
    body: bytes
    headers: dict[str, str]

    @property
    def size(self) -> int:
        """Bytes of payload plus header block, roughly as they go on the wire."""
        header_bytes = sum(len(k) + len(v) + 4 for k, v in self.headers.items()) + 12
        return len(self.body) + header_bytes


def intent(workload: Workload, name: str) -> Message:
    """An apply intent exactly as ``Publisher.intent`` would send it (no trace context is active)."""
    doc = workload.document(name)
    address = subjects.ObjectAddress(workload.service, workload.token, doc["metadata"]["namespace"], name)
    env = cloudevents.Envelope.new(
        source=SOURCE,
        type=cloudevents.type_name(workload.service, workload.token, cloudevents.APPLY),
        subject=address.display(),
    )
    return Message(id=env.id, subject=subjects.intent(address), body=orjson.dumps(doc), headers=env.headers())


def intents(workload: Workload, prefix: str, count: int) -> list[Message]:
    return [intent(workload, f"{prefix}-{i}") for i in range(count)]


def raw_subject(workload: Workload, index: int) -> str:
    """Same depth and length class as an intent subject; the last token is the index."""
    return f"{RAW_PREFIX}.{workload.service}.{workload.token}.{NAMESPACE}.{index}"


def raw_index(subject: str) -> int:
    return int(subject.rsplit(".", 1)[1])


def raw_messages(workload: Workload, count: int) -> list[Message]:
    """Messages with an intent's body and CloudEvents headers (fresh ``Nats-Msg-Id`` each)."""
    out = []
    for i in range(count):
        template = intent(workload, f"bench-{i}")
        out.append(
            Message(id=template.id, subject=raw_subject(workload, i), body=template.body, headers=template.headers)
        )
    return out
