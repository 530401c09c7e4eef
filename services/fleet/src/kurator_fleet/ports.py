"""What the fleet service's domain needs from Karmada, as a Protocol the domain owns (STYLE 2).

:mod:`kurator_fleet.adapters.karmada` implements it against the Karmada API server (or the
simulator); tests may pass a fake. Methods raise :mod:`shared.k8s.errors` types (our own,
never the client library's): ``NotFound``, ``Invalid`` with the causes, ``Conflict``,
``Unavailable``, ...; :mod:`kurator_fleet.failures` decides what they mean for an intent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

RawObject = dict[str, Any]


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """One object in Karmada; ``namespace`` is ``None`` for cluster-scoped ones."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        meta = obj.get("metadata") or {}
        return cls(str(obj["apiVersion"]), str(obj["kind"]), str(meta["name"]), meta.get("namespace"))

    def to_wire(self) -> dict[str, str]:
        """As a status lists it (and as a Karmada resource selector names it)."""
        out = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name}
        if self.namespace is not None:
            out["namespace"] = self.namespace
        return out

    def display(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


class Karmada(Protocol):
    """The Karmada API as the fleet service uses it: server-side apply as ``kurator-fleet``."""

    async def apply(self, obj: Mapping[str, Any], *, field_manager: str | None = None) -> RawObject:
        """Server-side apply ``obj`` (any kind Karmada serves, found by its apiVersion and kind).

        A namespace that does not exist yet is created first. ``field_manager`` replaces the
        service's own manager for writes that must not disturb its other fields (fleet labels).
        """
        ...

    async def find(self, ref: ObjectRef) -> RawObject | None:
        """The object, or ``None`` when it does not exist."""
        ...

    async def delete(self, ref: ObjectRef) -> bool:
        """Delete the object (dependents in the background); ``False`` when it was already gone."""
        ...

    async def is_namespaced(self, *, api_version: str, kind: str) -> bool:
        """Whether Karmada serves ``kind`` as a namespaced resource (``NotFound``: not served)."""
        ...

    async def read_secret(self, *, namespace: str, name: str) -> dict[str, bytes] | None:
        """The decoded ``data`` of a Secret, or ``None`` when it does not exist."""
        ...

    async def clusters(self, *, label_selector: str) -> list[RawObject]:
        """The member ``Cluster`` objects whose labels match ``label_selector``."""
        ...
