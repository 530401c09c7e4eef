"""The desired state a service has accepted, in its KV bucket ``kurator_<service>``.

One entry per object, keyed ``<kind>.<ns>.<name>`` (the same tokens as its subjects). Every
write is a compare-and-set on the entry's revision, which is how replicas that handle
intents about the same object concurrently agree on one order: the record remembers the
stream sequence of the last intent applied, and an older intent that arrives late is
recognised as stale instead of overwriting newer state.

Deletes leave a tombstone record (``deleted: true``) rather than a KV delete marker so that
the sequence of the delete survives for that comparison.

Each replica remembers the last revision it wrote or read for every key (without the
document, in a bounded LRU), so the common path writes with compare-and-set straight away
instead of reading first: one round trip per intent instead of two. A stale memory only
costs a failed compare-and-set, after which the caller reads the entry for real.

Reads are JetStream direct gets of the key's last message, sent through the lean publisher's
request path (``shared.bus.jetstream``) rather than nats-py's ``KeyValue.get`` (a request with a
task-based timeout, a ``RawStreamMsg`` and an ``Entry`` per read); the answer is read as
nats-py reads it. A bucket without direct gets is read through nats-py.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from nats.js.errors import KeyDeletedError, KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue

from shared.bus import jetstream
from shared.contracts import subjects

KV_OPERATION = "KV-Operation"
_GONE = frozenset({"DEL", "PURGE"})
"""``KV-Operation`` values of a delete marker and a purge (nats-py's ``KV_DEL``, ``KV_PURGE``)."""


class RevisionConflict(Exception):  # noqa: N818 - reads as the outcome
    """Someone else wrote the entry since it was read."""


@dataclass(frozen=True, slots=True)
class Record:
    """What the service holds about one object."""

    document: dict[str, Any]
    """The object as accepted (metadata filled by the service: uid, generation, ...)."""
    generation: int
    intent_seq: int
    """Stream sequence of the last intent applied to this object."""
    intent_id: str
    spec_hash: str
    changed_at: str = ""
    """When the content last changed (RFC 3339): the transition time of conditions."""
    uid: str = ""
    created_at: str = ""
    deleted: bool = False

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "document": self.document,
                "generation": self.generation,
                "intentSeq": self.intent_seq,
                "intentId": self.intent_id,
                "specHash": self.spec_hash,
                "changedAt": self.changed_at,
                "uid": self.uid,
                "createdAt": self.created_at,
                "deleted": self.deleted,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Record:
        raw = orjson.loads(data)
        return cls(
            document=raw["document"],
            generation=int(raw["generation"]),
            intent_seq=int(raw["intentSeq"]),
            intent_id=str(raw.get("intentId", "")),
            spec_hash=str(raw.get("specHash", "")),
            changed_at=str(raw.get("changedAt", "")),
            uid=str(raw.get("uid", "")),
            created_at=str(raw.get("createdAt", "")),
            deleted=bool(raw.get("deleted", False)),
        )


@dataclass(frozen=True, slots=True)
class Versioned:
    record: Record
    revision: int


class DesiredStateStore:
    def __init__(
        self, kv: KeyValue, *, bucket: str, publisher: jetstream.JetStreamPublisher, remembered_keys: int = 100_000
    ) -> None:
        self._kv = kv
        self._put_prefix = f"$KV.{bucket}."
        self._publisher = publisher
        js_prefix = getattr(getattr(kv, "_js", None), "_prefix", None) or "$JS.API"
        self._get_prefix = (
            f"{js_prefix}.DIRECT.GET.KV_{bucket}.{self._put_prefix}" if getattr(kv, "_direct", False) else None
        )
        """Where a key's last message is asked for (``None``: the bucket does not allow direct gets)."""
        self._known: OrderedDict[str, Versioned] = OrderedDict()
        self._limit = remembered_keys

    def _remember(self, key: str, found: Versioned) -> None:
        # Without the document: the memory answers "which revision, which intent, which
        # content hash", which is all the fast path needs.
        r = found.record
        bare = Record(
            document={},
            generation=r.generation,
            intent_seq=r.intent_seq,
            intent_id=r.intent_id,
            spec_hash=r.spec_hash,
            changed_at=r.changed_at,
            uid=r.uid,
            created_at=r.created_at,
            deleted=r.deleted,
        )
        self._known[key] = Versioned(bare, found.revision)
        self._known.move_to_end(key)
        if len(self._known) > self._limit:
            self._known.popitem(last=False)

    def remembered(self, address: subjects.ObjectAddress) -> Versioned | None:
        """What this replica last saw of the entry (document left out), or ``None``."""
        return self._known.get(address.key)

    def forget(self, address: subjects.ObjectAddress) -> None:
        self._known.pop(address.key, None)

    async def get(self, address: subjects.ObjectAddress) -> Versioned | None:
        """The entry, or ``None`` when the key is absent, deleted or purged.

        Raises:
            jetstream.PublishError: the server refused the read (not a 404).
            TimeoutError: no answer in time.
        """
        if self._get_prefix is None:
            return await self._get_through_nats_py(address)
        key = address.key
        data, headers = await self._publisher.request(self._get_prefix + key)
        headers = headers or {}
        status = None if data else headers.get("Status")
        if status == "404":
            self.forget(address)
            return None
        if status:
            raise jetstream.PublishError(int(status), headers.get("Description", ""))
        if headers.get("Nats-Subject") != self._put_prefix + key or headers.get(KV_OPERATION) in _GONE:
            self.forget(address)
            return None
        revision = headers.get("Nats-Sequence")
        if not data or not revision:
            return None  # as nats-py reads it: no value, or no revision
        found = Versioned(Record.from_bytes(data), int(revision))
        self._remember(key, found)
        return found

    async def _get_through_nats_py(self, address: subjects.ObjectAddress) -> Versioned | None:
        try:
            entry = await self._kv.get(address.key)
        except (KeyNotFoundError, KeyDeletedError):
            self.forget(address)
            return None
        if entry.value is None or entry.revision is None:
            return None
        found = Versioned(Record.from_bytes(entry.value), entry.revision)
        self._remember(address.key, found)
        return found

    async def put(self, address: subjects.ObjectAddress, record: Record, *, revision: int | None) -> int:
        """Write ``record`` if the entry is still at ``revision`` (``None``: must not exist).

        Raises:
            RevisionConflict: the entry changed (or appeared) since it was read.
        """
        # A KV write is a publish on $KV.<bucket>.<key> expecting the key's last revision
        # (0: must not exist), sent through the lean publisher (see shared.bus.jetstream).
        key = address.key
        headers = {jetstream.EXPECTED_LAST_SUBJECT_SEQUENCE: str(revision or 0)}
        try:
            ack = await self._publisher.publish(self._put_prefix + key, record.to_bytes(), headers=headers)
        except jetstream.PublishError as exc:
            if exc.code == jetstream.WRONG_LAST_SEQUENCE:
                self._known.pop(key, None)
                raise RevisionConflict(key) from exc
            raise
        new_revision = ack.seq
        self._remember(key, Versioned(record, new_revision))
        return new_revision

    async def keys(self, *, kind: str | None = None) -> list[str]:
        """Every key (tombstones too), or only those of one kind token: a scan without the reads."""
        try:
            keys = await self._kv.keys()
        except NoKeysError:
            return []
        return [k for k in keys if kind is None or k.startswith(f"{kind}.")]

    async def items(self) -> AsyncIterator[tuple[str, Versioned]]:
        """Every live (non-tombstone) entry."""
        try:
            keys = await self._kv.keys()
        except NoKeysError:
            return
        for key in keys:
            try:
                entry = await self._kv.get(key)
            except (KeyNotFoundError, KeyDeletedError):
                continue
            if entry.value is None or entry.revision is None:
                continue
            record = Record.from_bytes(entry.value)
            if not record.deleted:
                yield key, Versioned(record, entry.revision)
