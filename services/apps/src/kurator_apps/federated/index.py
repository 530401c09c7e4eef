"""What this replica knows of the desired state: FederatedDeployments and the objects beside them.

Pure code. Fed by the kind handlers (what this replica accepts) and by the watch on the apps
service's desired-state bucket (what every replica accepts), so companions applied before or
after their FederatedDeployment, through any replica, are found. Each entry keeps the
generation it was recorded at; an older copy never replaces a newer one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import pydantic

from kurator_apps.federated import companions
from shared.contracts import kinds
from shared.contracts.models import apps, workloads

FD_TOKEN: Final = "federateddeployment"
COMPANION_TOKENS: Final = ("service", "ingress", "configmap", "secret")
TOKENS: Final = (FD_TOKEN, *COMPANION_TOKENS)

Key = tuple[str, str, str]
"""``(kind token, namespace, name)``."""


@dataclass(frozen=True, slots=True)
class FederatedEntry:
    model: apps.FederatedDeployment
    document: Mapping[str, Any]
    """As recorded: with the metadata the service set (uid, generation, creationTimestamp)."""
    generation: int
    uid: str

    @property
    def namespace(self) -> str:
        return self.model.metadata.namespace or "default"

    @property
    def name(self) -> str:
        return self.model.metadata.name


def key_of(token: str, document: Mapping[str, Any]) -> Key:
    meta = document.get("metadata") or {}
    return token, str(meta.get("namespace") or "default"), str(meta.get("name") or "")


@dataclass(frozen=True, slots=True)
class _Unparsed:
    """A FederatedDeployment record from the bucket, parsed only when asked for: this replica's
    handler usually records the same generation, already parsed, moments later."""

    document: Mapping[str, Any]
    generation: int
    uid: str


class Index:
    def __init__(self) -> None:
        self._fds: dict[tuple[str, str], FederatedEntry] = {}
        self._unparsed: dict[tuple[str, str], _Unparsed] = {}
        """Newer than what ``_fds`` holds for the same key."""
        self._companions: dict[Key, tuple[int, companions.Companion]] = {}
        self._by_namespace: dict[str, set[Key]] = {}
        self._versions: dict[str, int] = {}

    def version(self, namespace: str) -> int:
        """Changes whenever a companion in ``namespace`` comes, changes or goes (to cache plans by)."""
        return self._versions.get(namespace, 0)

    def _bump(self, namespace: str) -> None:
        self._versions[namespace] = self._versions.get(namespace, 0) + 1

    # -- FederatedDeployments ---------------------------------------------------------------

    def put_fd(
        self, model: apps.FederatedDeployment, document: Mapping[str, Any], *, generation: int, uid: str = ""
    ) -> bool:
        """Record ``model``; ``False`` when a newer generation is already known."""
        entry = FederatedEntry(model, document, generation, uid)
        at = (entry.namespace, entry.name)
        if self._generation(at) > generation:
            return False
        self._unparsed.pop(at, None)
        self._fds[at] = entry
        return True

    def _generation(self, at: tuple[str, str]) -> int:
        """The newest generation known of ``at`` (0: none)."""
        unparsed = self._unparsed.get(at)
        if unparsed is not None:
            return unparsed.generation
        known = self._fds.get(at)
        return known.generation if known is not None else 0

    def drop_fd(self, namespace: str, name: str) -> FederatedEntry | None:
        self._unparsed.pop((namespace, name), None)
        return self._fds.pop((namespace, name), None)

    def knows_fd(self, namespace: str, name: str) -> bool:
        """Whether ``namespace/name`` is a FederatedDeployment (without parsing one not parsed yet)."""
        at = (namespace, name)
        return at in self._fds or at in self._unparsed

    def fd(self, namespace: str, name: str) -> FederatedEntry | None:
        at = (namespace, name)
        if at in self._unparsed:
            self._parse(at)
        return self._fds.get(at)

    def fds(self) -> Iterator[FederatedEntry]:
        for at in list(self._unparsed):
            self._parse(at)
        return iter(list(self._fds.values()))

    def _parse(self, at: tuple[str, str]) -> None:
        unparsed = self._unparsed.pop(at)
        try:
            model = apps.FederatedDeployment.model_validate(dict(unparsed.document))
        except pydantic.ValidationError:
            return  # the processor validated it; a record that no longer parses is not ours to judge
        self._fds[at] = FederatedEntry(model, unparsed.document, unparsed.generation, unparsed.uid)

    # -- companions -------------------------------------------------------------------------

    def put_companion(self, model: companions.Companion, *, generation: int) -> bool:
        token = kinds.for_object(model.api_version, model.kind).token
        key = (token, model.metadata.namespace or "default", model.metadata.name)
        known = self._companions.get(key)
        if known is not None and known[0] > generation:
            return False
        self._companions[key] = (generation, model)
        self._by_namespace.setdefault(key[1], set()).add(key)
        self._bump(key[1])
        return True

    def drop_companion(self, key: Key) -> companions.Companion | None:
        found = self._companions.pop(key, None)
        if found is not None:
            self._bump(key[1])
        keys = self._by_namespace.get(key[1])
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_namespace[key[1]]
        return found[1] if found else None

    def companion(self, key: Key) -> companions.Companion | None:
        found = self._companions.get(key)
        return found[1] if found else None

    def companions_in(self, namespace: str) -> list[companions.Companion]:
        return [self._companions[k][1] for k in sorted(self._by_namespace.get(namespace, ()))]

    def owners_of(self, model: companions.Companion) -> list[FederatedEntry]:
        """The FederatedDeployments ``model`` follows (module :mod:`.companions` says which)."""
        namespace = model.metadata.namespace or "default"
        here = [fd for fd in self.fds() if fd.namespace == namespace]
        if not here:
            return []
        same = (model.kind, model.metadata.name)
        applied = [c for c in self.companions_in(namespace) if (c.kind, c.metadata.name) != same]
        applied.append(model)
        out = []
        for fd in here:
            template = fd.model.spec.template.spec.template
            found = companions.find(
                namespace=namespace,
                pod_labels=dict((template.metadata.labels if template.metadata else None) or {}),
                pod_spec=template.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
                applied=applied,
            )
            if any(c is model for c in found.all):
                out.append(fd)
        return sorted(out, key=lambda e: e.name)

    # -- any kind, from a desired-state record ----------------------------------------------

    def record(
        self, token: str, document: Mapping[str, Any], *, generation: int, deleted: bool
    ) -> list[FederatedEntry]:
        """Apply a record of the apps bucket (kinds other than ours are ignored); returns the
        FederatedDeployments a companion belonged to before or belongs to now."""
        if token == FD_TOKEN:
            self.record_fd(document, generation=generation, deleted=deleted)
            return []
        if token not in TOKENS:
            return []
        key = key_of(token, document)
        before = self._owners_at(key)
        self._record(token, key, document, generation=generation, deleted=deleted)
        return [*before, *self._owners_at(key)]

    def record_fd(self, document: Mapping[str, Any], *, generation: int, deleted: bool) -> bool:
        """Apply a FederatedDeployment record of the apps bucket; whether it changed what is known
        (``False``: this generation or a newer one is known already, e.g. from this replica's
        handler). It is parsed when first asked for."""
        _, namespace, name = key_of(FD_TOKEN, document)
        at = (namespace, name)
        known = self._generation(at)
        if deleted:
            if known == 0 or known > generation:
                return False
            self.drop_fd(namespace, name)
            return True
        if known >= generation:
            return False
        meta = document.get("metadata") or {}
        self._unparsed[at] = _Unparsed(document, generation, str(meta.get("uid") or ""))
        return True

    def _owners_at(self, key: Key) -> list[FederatedEntry]:
        known = self.companion(key)
        return [] if known is None else self.owners_of(known)

    def _record(self, token: str, key: Key, document: Mapping[str, Any], *, generation: int, deleted: bool) -> None:
        """A companion's record."""
        known = self._companions.get(key)
        if deleted:
            if known is not None and known[0] <= generation:
                self.drop_companion(key)
            return
        if known is not None and known[0] >= generation:
            return  # recorded already (by this replica's handler): no need to parse it again
        try:
            model = kinds.for_token("apps", token).model.model_validate(dict(document))
        except pydantic.ValidationError:
            return  # the processor validated it; a record that no longer parses is not ours to judge
        if isinstance(model, workloads.Service | workloads.Ingress | workloads.ConfigMap | workloads.Secret):
            self.put_companion(model, generation=generation)
