"""The desired state a service has accepted, in its KV bucket ``kurator_<service>``.

One entry per object, keyed ``<kind>.<ns>.<name>`` (the same tokens as its subjects). Every
write is a compare-and-set on the entry's revision, which is how replicas that handle
intents about the same object concurrently agree on one order: the record remembers the
stream sequence of the last intent applied, and an older intent that arrives late is
recognised as stale instead of overwriting newer state.

Deletes leave a tombstone record (``deleted: true``) rather than a KV delete marker so that
the sequence of the delete survives for that comparison.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from nats.js.errors import (
    BadRequestError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NoKeysError,
)
from nats.js.kv import KeyValue

from shared.contracts import subjects


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
            deleted=bool(raw.get("deleted", False)),
        )


@dataclass(frozen=True, slots=True)
class Versioned:
    record: Record
    revision: int


class DesiredStateStore:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def get(self, address: subjects.ObjectAddress) -> Versioned | None:
        try:
            entry = await self._kv.get(address.key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        if entry.value is None or entry.revision is None:
            return None
        return Versioned(Record.from_bytes(entry.value), entry.revision)

    async def put(self, address: subjects.ObjectAddress, record: Record, *, revision: int | None) -> int:
        """Write ``record`` if the entry is still at ``revision`` (``None``: must not exist).

        Raises:
            RevisionConflict: the entry changed (or appeared) since it was read.
        """
        try:
            if revision is None:
                return int(await self._kv.create(address.key, record.to_bytes()))
            return int(await self._kv.update(address.key, record.to_bytes(), last=revision))
        except KeyWrongLastSequenceError as exc:
            raise RevisionConflict(address.key) from exc
        except BadRequestError as exc:
            # 10071: wrong last sequence, as the server reports it for KV creates.
            if exc.err_code == 10071:
                raise RevisionConflict(address.key) from exc
            raise

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
