"""The ``Application`` kind handler: render against the Fleet's members, write to the host, report.

On apply (and whenever :mod:`.resync` sees the Fleet change) :meth:`ApplicationHandler.reconcile`

1. (upstream's webhook rules, and the combinations Flux would refuse, were enforced by the
   Application model before the intent was recorded);
2. reads the Fleet's members (:mod:`.membership`); while the Fleet or a listed member is
   missing nothing is written (upstream waits too) and the status is ``Pending``, as it is
   when the Fleet has no members (then only the source is written);
3. renders; refuses (naming the policy) to take over an object another Application wrote;
   server-side applies the source and every delivery unit, then deletes the objects carrying
   this Application's labels that the rendering no longer has (fewer clusters or policies,
   another source kind);
4. checks each member's kubeconfig Secret and reports per delivery (:mod:`.progress`).

Delete removes every object carrying the Application's labels. Reconciles of one Application
never overlap in this replica (a lock per Application), so a resync cannot interleave with an
intent's writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from kurator_apps.applications import failures, membership, progress, render
from shared.bus import store
from shared.contracts import validation
from shared.contracts.meta import KubeObject
from shared.contracts.models import apps
from shared.errors import InvalidIntent


class FluxHost(Protocol):
    """Where the Flux objects go (:class:`kurator_apps.adapters.flux.FluxHost`)."""

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]: ...

    async def labelled(self, *, namespace: str, selector: str) -> list[dict[str, Any]]: ...

    async def find(self, *, kind: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def delete(self, *, kind: str, namespace: str, name: str) -> bool: ...

    async def secret_keys(self, *, namespace: str, name: str) -> frozenset[str] | None: ...


def _namespace(app: apps.Application) -> str:
    return app.metadata.namespace or "default"


class ApplicationHandler:
    def __init__(self, *, flux: FluxHost, statuses: membership.Statuses) -> None:
        self._flux = flux
        self._statuses = statuses
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.rendered_with: dict[tuple[str, str], membership.Membership | None] = {}
        """The membership each Application was last reconciled against (``None``: the host)."""
        self._ours: dict[tuple[str, str], set[tuple[str, str]]] = {}
        """Per Application, the ``(kind, name)`` objects this replica wrote for it since its last
        intent (an intent reads them all again: another replica may have deleted it meanwhile)."""

    def _lock(self, key: tuple[str, str]) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def on_apply(self, obj: KubeObject, record: store.Record) -> dict[str, Any]:
        assert isinstance(obj, apps.Application)
        self._ours.pop((_namespace(obj), obj.metadata.name), None)
        body = await self.reconcile(obj, generation=record.generation, changed_at=record.changed_at)
        assert body is not None  # nothing to ask: an intent is always wanted
        return body

    async def members(self, app: apps.Application) -> membership.Membership | None:
        """The Application's fleet membership now (``None`` when it deploys to the host itself)."""
        fleet = app.spec.fleet
        if fleet is None:
            return None
        return await membership.read(self._statuses, namespace=_namespace(app), fleet=fleet)

    async def reconcile(
        self,
        app: apps.Application,
        *,
        generation: int,
        changed_at: str,
        still_wanted: Callable[[], Awaitable[bool]] | None = None,
    ) -> dict[str, Any] | None:
        """The Application's status after writing what it renders to now.

        ``still_wanted`` (a resync's check that the desired state has not moved on) is asked
        once the lock is held; ``None`` is returned, and nothing written, when it says no.
        """
        key = (_namespace(app), app.metadata.name)
        async with self._lock(key):
            if still_wanted is not None and not await still_wanted():
                return None
            members = await self.members(app)
            self.rendered_with[key] = members
            if members is not None and not members.complete:
                return progress.pending(members, generation=generation, now=changed_at)
            rendering = render.render(app, members=members.members if members is not None else ())
            observed = await self._write(app, rendering)
            if members is not None and not members.members:
                # Written all the same: the source, and no delivery units (a Fleet that lost its
                # last member loses them here).
                return progress.pending(members, generation=generation, now=changed_at)
            return progress.rendered(rendering, observed, membership=members, generation=generation, now=changed_at)

    async def _write(self, app: apps.Application, rendering: render.Rendering) -> progress.Observed:
        namespace = _namespace(app)
        await self._check_unclaimed(app, rendering)
        written: dict[tuple[str, str], dict[str, Any]] = {}
        for obj in (rendering.source, *(d.object for d in rendering.deliveries)):
            kind, name = str(obj["kind"]), str(obj["metadata"]["name"])
            with failures.on_host(f"{kind} {namespace}/{name}"):
                written[(kind, name)] = await self._flux.apply(obj)
            self._ours.setdefault((namespace, app.metadata.name), set()).add((kind, name))
        pruned = await self._prune(namespace, app.metadata.name, keep=set(written))
        problems = await self._kubeconfig_problems(namespace, rendering)
        return progress.Observed(written=written, kubeconfig_problems=problems, pruned=tuple(pruned))

    async def _check_unclaimed(self, app: apps.Application, rendering: render.Rendering) -> None:
        """Refuse to take over a Flux object another Application (or anyone else) wrote.

        Upstream names delivery units after the policy, not the Application, so two Applications
        in one namespace with a policy of the same name collide; upstream's controller then fails
        on the ownerReference, here the second one is rejected naming its policy. Objects this
        replica wrote for the Application since its last intent are not read again.
        """
        namespace, app_name = _namespace(app), app.metadata.name
        ours = self._ours.get((namespace, app_name), set())
        index = {name: i for i, name in enumerate(app.policy_names())}
        fields = [("metadata.name", rendering.source)]
        fields += [(f"spec.syncPolicies[{index[d.policy]}].name", d.object) for d in rendering.deliveries]
        reasons = []
        for field, obj in fields:
            kind, name = str(obj["kind"]), str(obj["metadata"]["name"])
            if (kind, name) in ours:
                continue
            with failures.on_host(f"{kind} {namespace}/{name}"):
                existing = await self._flux.find(kind=kind, namespace=namespace, name=name)
            if existing is None:
                continue
            labels = (existing.get("metadata") or {}).get("labels") or {}
            if labels.get(render.MANAGED_BY_LABEL) != render.MANAGER:
                holder = "was not written by Kurator"
            elif labels.get(render.APP_LABEL) != app_name:
                holder = f"belongs to Application {namespace}/{labels.get(render.APP_LABEL)}"
            else:
                continue
            message = f"{kind} {namespace}/{name} {holder}: name the policy (or the Application) differently"
            reasons.append(validation.Reason(field=field, reason="FieldValueDuplicate", message=message))
        if reasons:
            raise InvalidIntent(reasons)

    async def _prune(self, namespace: str, app_name: str, *, keep: set[tuple[str, str]]) -> list[str]:
        with failures.on_host(f"the Flux objects of Application {namespace}/{app_name}"):
            found = await self._flux.labelled(namespace=namespace, selector=render.owned_selector(app_name))
            pruned = []
            for obj in found:
                kind, name = str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))
                if (kind, name) not in keep:
                    await self._flux.delete(kind=kind, namespace=namespace, name=name)
                    self._ours.get((namespace, app_name), set()).discard((kind, name))
                    pruned.append(f"{kind}/{name}")
        return pruned

    async def _kubeconfig_problems(self, namespace: str, rendering: render.Rendering) -> dict[str, str]:
        secrets: dict[str, tuple[str, str]] = {}
        for delivery in rendering.deliveries:
            kube_config = delivery.object["spec"].get("kubeConfig")
            if kube_config is not None:
                secrets[delivery.cluster] = (kube_config["secretRef"]["name"], kube_config["secretRef"]["key"])
        problems: dict[str, str] = {}
        for cluster, (name, key) in secrets.items():
            where = f"Secret {namespace}/{name}"
            with failures.on_host(where):
                keys = await self._flux.secret_keys(namespace=namespace, name=name)
            if keys is None:
                problems[cluster] = f"{where} (the kubeconfig of {cluster}) does not exist: Flux cannot reach it"
            elif key not in keys:
                problems[cluster] = f"{where} has no key {key!r} (the kubeconfig of {cluster})"
        return problems

    async def on_delete(self, record: store.Record) -> None:
        meta = record.document.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or "default"), str(meta["name"])
        async with self._lock((namespace, name)):
            self.rendered_with.pop((namespace, name), None)
            self._ours.pop((namespace, name), None)
            await self._prune(namespace, name, keep=set())
