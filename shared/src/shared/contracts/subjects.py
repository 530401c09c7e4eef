"""Every NATS subject kurator-py uses, built here and nowhere else.

Scheme (DESIGN.md section 2; every token lowercase):

==========================  ====================================================
intent                      ``kurator.intent.<service>.<kind>.<ns>.<name>``
status (last-value cache)   ``kurator.status.<service>.<kind>.<ns>.<name>``
event                       ``kurator.event.<service>.<kind>.<event>``
rejected intent             ``kurator.event.<service>.intent.rejected``
dead letters                ``kurator.dlq.<service>``
query (request/reply)       ``kurator.query.<service>.<op>``
edge heartbeat              ``kurator.heartbeat.edge.<cluster>.<node>``
==========================  ====================================================

``<ns>`` is ``_`` for cluster-scoped objects. Kubernetes names may hold ``.`` (a NATS token
boundary) and a publisher might send characters NATS or a KV key cannot carry, so names go
through :func:`encode_token`, which keeps ``[a-z0-9-]`` and writes any other character as
``_`` plus two (or, beyond Latin-1, ``_u`` plus six) lowercase hex digits; :func:`decode_token`
reverses it exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

PREFIX: Final = "kurator"
CLUSTER_SCOPE: Final = "_"
"""The ``<ns>`` token of cluster-scoped objects."""

SERVICES: Final = ("fleet", "apps", "edge", "observability", "backup")
Service = Literal["fleet", "apps", "edge", "observability", "backup"]

INTENTS_STREAM: Final = "KURATOR_INTENTS"
STATUS_STREAM: Final = "KURATOR_STATUS"
EVENTS_STREAM: Final = "KURATOR_EVENTS"
DLQ_STREAM: Final = "KURATOR_DLQ"

_PLAIN: Final = re.compile(r"^[a-z0-9-]+$")
_TOKEN_WORD: Final = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class SubjectError(ValueError):
    """A subject could not be built or parsed."""


def encode_token(value: str) -> str:
    """Encode an object name or namespace into one subject token (and a valid KV key part)."""
    if not value:
        raise SubjectError("an empty name cannot form a subject token")
    if _PLAIN.match(value):
        return value
    out: list[str] = []
    for ch in value:
        if "a" <= ch <= "z" or "0" <= ch <= "9" or ch == "-":
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"_{ord(ch):02x}")
        else:
            out.append(f"_u{ord(ch):06x}")
    return "".join(out)


def decode_token(token: str) -> str:
    """Reverse :func:`encode_token`."""
    if "_" not in token:
        return token
    out: list[str] = []
    i = 0
    while i < len(token):
        ch = token[i]
        if ch != "_":
            out.append(ch)
            i += 1
        elif token.startswith("_u", i) and len(token) >= i + 8:
            out.append(chr(int(token[i + 2 : i + 8], 16)))
            i += 8
        else:
            out.append(chr(int(token[i + 1 : i + 3], 16)))
            i += 3
    return "".join(out)


def _word(value: str, what: str) -> str:
    if not _TOKEN_WORD.match(value):
        raise SubjectError(f"{what} {value!r} must be a lowercase word ([a-z0-9-])")
    return value


def _service(service: str) -> str:
    if service not in SERVICES:
        raise SubjectError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    return service


def namespace_token(namespace: str | None) -> str:
    return CLUSTER_SCOPE if not namespace else encode_token(namespace)


@dataclass(frozen=True, slots=True)
class ObjectAddress:
    """Where one object lives on the bus: service, kind token, namespace (or None), name."""

    service: str
    kind: str
    namespace: str | None
    name: str

    @property
    def key(self) -> str:
        """``<kind>.<ns>.<name>``: the per-object ordering key and the KV key."""
        return f"{self.kind}.{namespace_token(self.namespace)}.{encode_token(self.name)}"

    def display(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


def _object(kind_: str, addr: ObjectAddress) -> str:
    return f"{PREFIX}.{kind_}.{_service(addr.service)}.{_word(addr.kind, 'kind')}.{addr.key.split('.', 1)[1]}"


def intent(addr: ObjectAddress) -> str:
    return _object("intent", addr)


def status(addr: ObjectAddress) -> str:
    return _object("status", addr)


def intents_of(service: str) -> str:
    """Filter subject of one service's intents (its durable consumer filters on this)."""
    return f"{PREFIX}.intent.{_service(service)}.>"


def statuses(service: str | None = None, kind: str | None = None, namespace: str | None = None) -> str:
    """A wildcard over status subjects, narrowed by whatever is given."""
    svc = _service(service) if service else "*"
    if kind is None:
        return f"{PREFIX}.status.{svc}.>"
    ns = "*" if namespace is None else namespace_token(namespace)
    return f"{PREFIX}.status.{svc}.{_word(kind, 'kind')}.{ns}.*"


def event(service: str, kind: str, name: str) -> str:
    return f"{PREFIX}.event.{_service(service)}.{_word(kind, 'kind')}.{_word(name, 'event')}"


def events(service: str | None = None) -> str:
    return f"{PREFIX}.event.{_service(service) if service else '*'}.>"


def rejected(service: str) -> str:
    return event(service, "intent", "rejected")


def dlq(service: str) -> str:
    return f"{PREFIX}.dlq.{_service(service)}"


def query(service: str, op: str) -> str:
    return f"{PREFIX}.query.{_service(service)}.{_word(op, 'operation')}"


def heartbeat(cluster: str, node: str) -> str:
    return f"{PREFIX}.heartbeat.edge.{encode_token(cluster)}.{encode_token(node)}"


def stream_subjects() -> dict[str, list[str]]:
    """The subjects each stream captures."""
    return {
        INTENTS_STREAM: [f"{PREFIX}.intent.>"],
        STATUS_STREAM: [f"{PREFIX}.status.>"],
        EVENTS_STREAM: [f"{PREFIX}.event.>"],
        DLQ_STREAM: [f"{PREFIX}.dlq.>"],
    }


def kv_bucket(service: str) -> str:
    return f"kurator_{_service(service)}"


def parse_object(subject: str) -> tuple[str, ObjectAddress]:
    """``kurator.<intent|status>.<svc>.<kind>.<ns>.<name>`` -> (class, address)."""
    parts = subject.split(".")
    if len(parts) != 6 or parts[0] != PREFIX or parts[1] not in ("intent", "status"):
        raise SubjectError(f"{subject!r} is not an object subject")
    _, cls, service, kind_, ns, name = parts
    _service(service)
    return cls, ObjectAddress(
        service=service,
        kind=kind_,
        namespace=None if ns == CLUSTER_SCOPE else decode_token(ns),
        name=decode_token(name),
    )
