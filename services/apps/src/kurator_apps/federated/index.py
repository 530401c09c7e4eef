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


class Index:
    def __init__(self) -> None:
        self._fds: dict[tuple[str, str], FederatedEntry] = {}
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
        known = self._fds.get(at)
        if known is not None and known.generation > generation:
            return False
        self._fds[at] = entry
        return True

    def drop_fd(self, namespace: str, name: str) -> FederatedEntry | None:
        return self._fds.pop((namespace, name), None)

    def fd(self, namespace: str, name: str) -> FederatedEntry | None:
        return self._fds.get((namespace, name))

    def fds(self) -> Iterator[FederatedEntry]:
        return iter(list(self._fds.values()))

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
        here = [fd for fd in self._fds.values() if fd.namespace == namespace]
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

    def _known(self, token: str, key: Key, generation: int) -> bool:
        if token == FD_TOKEN:
            known = self._fds.get((key[1], key[2]))
            return known is not None and known.generation >= generation
        found = self._companions.get(key)
        return found is not None and found[0] >= generation

    def record(
        self, token: str, document: Mapping[str, Any], *, generation: int, deleted: bool
    ) -> list[FederatedEntry]:
        """Apply a record of the apps bucket (kinds other than ours are ignored); returns the
        FederatedDeployments a companion belonged to before or belongs to now."""
        if token not in TOKENS:
            return []
        key = key_of(token, document)
        before = [] if token == FD_TOKEN else self._owners_at(key)
        self._record(token, key, document, generation=generation, deleted=deleted)
        return [] if token == FD_TOKEN else [*before, *self._owners_at(key)]

    def _owners_at(self, key: Key) -> list[FederatedEntry]:
        known = self.companion(key)
        return [] if known is None else self.owners_of(known)

    def _record(self, token: str, key: Key, document: Mapping[str, Any], *, generation: int, deleted: bool) -> None:
        if deleted:
            if token == FD_TOKEN:
                known = self._fds.get((key[1], key[2]))
                if known is not None and known.generation <= generation:
                    self.drop_fd(key[1], key[2])
            else:
                known_c = self._companions.get(key)
                if known_c is not None and known_c[0] <= generation:
                    self.drop_companion(key)
            return
        if self._known(token, key, generation):
            return  # recorded already (by this replica's handler): no need to parse it again
        try:
            model = kinds.for_token("apps", token).model.model_validate(dict(document))
        except pydantic.ValidationError:
            return  # the processor validated it; a record that no longer parses is not ours to judge
        if isinstance(model, apps.FederatedDeployment):
            meta = document.get("metadata") or {}
            self.put_fd(model, document, generation=generation, uid=str(meta.get("uid") or ""))
        elif isinstance(model, workloads.Service | workloads.Ingress | workloads.ConfigMap | workloads.Secret):
            self.put_companion(model, generation=generation)
