"""One cluster's objects: what etcd and the generic registry do for a real API server.

The store owns resource versions (one counter per cluster, like an etcd revision), object
metadata the server sets (``uid``, ``creationTimestamp``, ``generation``,
``resourceVersion``, ``deletionTimestamp``), optimistic concurrency, the ``status``
subresource split, finalizers, background garbage collection through ``ownerReferences``,
namespace lifecycle and the watch history. It knows nothing about HTTP, schemas or patches:
the API layer validates and patches, then calls :meth:`ObjectStore.create` /
:meth:`ObjectStore.update` with whole objects.

Stored objects are never changed in place: every write stores a new top-level dict (and a new
``metadata``), so consecutive versions of an object share whatever the write did not touch (a
status write copies only the status). Whoever holds a stored object (history, watchers,
:meth:`ObjectStore.peek`) must therefore treat it as read only; the copying methods
(:meth:`ObjectStore.get`, results with ``copy_result=True``) hand out private deep copies.
"""

from __future__ import annotations

import base64
import itertools
import random
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from kurator_sim import errors
from kurator_sim.clock import SimClock
from kurator_sim.resources import Registry, ResourceType
from kurator_sim.store import selectors
from kurator_sim.store.watch import Change, Subscription, WatchEvent

Obj = dict[str, Any]
Operation = Literal["CREATE", "UPDATE", "DELETE"]
Admission = Callable[[Operation, Obj, Obj | None], None]
"""Called before a write with (operation, new object, old object); may mutate ``new`` or raise ApiError."""

NAMESPACE_KEY = ("", "namespaces")
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def clone(obj: Obj) -> Obj:
    """A deep copy (orjson round trip: several times faster than ``copy.deepcopy``)."""
    result: Obj = orjson.loads(orjson.dumps(obj))
    return result


_MISSING: Any = object()

_UID_PREFIX = (lambda h: f"{h[:8]}-{h[8:12]}-4{h[13:16]}-")(uuid.uuid4().hex)
_UID_SERIAL = itertools.count(random.getrandbits(62))


def new_uid() -> str:
    """A version 4 UUID, unique in this process and random across processes: random high bits
    drawn once and a serial below them, in place of ``uuid4()`` (a system call and a UUID
    object for every object written)."""
    n = next(_UID_SERIAL)
    return f"{_UID_PREFIX}{0x8000 | ((n >> 48) & 0x3FFF):04x}-{n & 0xFFFFFFFFFFFF:012x}"


def _same_except(a: Obj, b: Obj, skip: tuple[str, ...]) -> bool:
    """Whether ``a`` and ``b`` hold equal values under every key but ``skip`` (values shared
    by both versions compare by identity first)."""
    for key, value in a.items():
        if key not in skip:
            other = b.get(key, _MISSING)
            if other is not value and other != value:
                return False
    return len(a) - sum(key in a for key in skip) == len(b) - sum(key in b for key in skip)


_SPEC_SKIP = ("metadata", "status")
_BODY_SKIP = ("metadata",)
_META_SKIP = ("resourceVersion", "managedFields")


def _shallow(obj: Obj) -> Obj:
    """A new top level and ``metadata`` over ``obj``'s other values (what the store edits)."""
    out = dict(obj)
    meta = obj.get("metadata")
    out["metadata"] = dict(meta) if isinstance(meta, dict) else {}
    return out


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[Obj]
    resource_version: int
    continue_token: str = ""
    remaining: int | None = None


class ObjectStore:
    def __init__(
        self,
        *,
        name: str,
        registry: Registry,
        clock: SimClock,
        history: int = 50_000,
        bookmark_interval_seconds: float = 60.0,
        namespaces: tuple[str, ...] = DEFAULT_NAMESPACES,
    ) -> None:
        self.name = name
        self.registry = registry
        self.clock = clock
        self._rv = 0
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self._history: deque[Change] = deque(maxlen=history)
        self._subs: dict[tuple[str, str], set[Subscription]] = {}
        """Open subscriptions by resource (a write is offered only to its resource's)."""
        self._admission: dict[tuple[str, str], list[Admission]] = {}
        self.bookmark_interval = bookmark_interval_seconds
        for ns in namespaces:
            self.ensure_namespace(ns)

    # -- helpers ----------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _bucket(self, rt: ResourceType) -> dict[tuple[str, str], Obj]:
        # get before setdefault: no throw-away dict on every read of an existing bucket.
        key = rt.key
        bucket = self._objects.get(key)
        if bucket is None:
            bucket = self._objects[key] = {}
        return bucket

    @staticmethod
    def _ns(rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if rt.namespaced else ""

    def _as_version(self, rt: ResourceType, obj: Obj) -> Obj:
        out = clone(obj)
        out["apiVersion"] = rt.api_version
        out["kind"] = rt.kind
        return out

    @staticmethod
    def _view(rt: ResourceType, obj: Obj) -> Obj:
        """``obj`` as ``rt``'s version without copying it (read only, like the stored object)."""
        if obj.get("apiVersion") == rt.api_version and obj.get("kind") == rt.kind:
            return obj
        return {**obj, "apiVersion": rt.api_version, "kind": rt.kind}

    def add_admission(self, rt_key: tuple[str, str], hook: Admission) -> None:
        self._admission.setdefault(rt_key, []).append(hook)

    def _admit(self, rt: ResourceType, op: Operation, new: Obj, old: Obj | None) -> None:
        for hook in self._admission.get(rt.key, ()):
            hook(op, new, old)

    def ensure_namespace(self, name: str) -> None:
        """Create a namespace if it does not exist (start-up and topology set-up only)."""
        rt = self.registry.by_key(NAMESPACE_KEY)
        if ("", name) not in self._bucket(rt):
            self.create(rt, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def _check_namespace(self, rt: ResourceType, namespace: str) -> None:
        if not rt.namespaced:
            return
        ns = self._objects.get(NAMESPACE_KEY, {}).get(("", namespace))
        if ns is None:
            raise errors.not_found("namespaces", "", namespace)
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            raise errors.ApiError(
                403,
                "Forbidden",
                f'{rt.plural} "{namespace}" is forbidden: unable to create new content in namespace {namespace} '
                "because it is being terminated",
            )

    def _record(
        self, rt: ResourceType, ns: str, kind: Literal["ADDED", "MODIFIED", "DELETED"], old: Obj | None, new: Obj
    ) -> None:
        key = rt.key
        change = Change(int(new["metadata"]["resourceVersion"]), key, ns or None, kind, old, new)
        self._history.append(change)
        subs = self._subs.get(key)
        if subs:
            # A subscription is in ``_subs`` only while open, and only under its resource's key.
            event: WatchEvent | None = None
            for sub in list(subs):
                if sub.plain:
                    if event is None:
                        event = change.plain_event()
                    sub._put(event)
                else:
                    sub.offer(change)

    def changes_since(self, resource_version: int) -> list[Change] | None:
        """The recorded writes after ``resource_version``, oldest first; ``None`` when the kept
        history no longer reaches back that far."""
        if resource_version >= self._rv:
            return []
        out: list[Change] = []
        for change in reversed(self._history):
            if change.resource_version <= resource_version:
                break
            out.append(change)
        if not out or out[-1].resource_version != resource_version + 1:
            return None
        out.reverse()
        return out

    # -- reads ------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self._bucket(rt).get((self._ns(rt, namespace), name))
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return self._as_version(rt, obj)

    def find(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        """A copy of the object, or ``None``."""
        obj = self._bucket(rt).get(((namespace or "") if rt.namespaced else "", name))
        return None if obj is None else self._as_version(rt, obj)

    def view(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        """The stored object as ``rt``'s version, not a copy (callers must not mutate it), or ``None``."""
        obj = self._bucket(rt).get(((namespace or "") if rt.namespaced else "", name))
        return None if obj is None else self._view(rt, obj)

    def peek(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        """The stored object itself, not a copy, or ``None`` (controllers must not mutate it)."""
        bucket = self._objects.get(rt.key)
        if bucket is None:
            return None
        return bucket.get(((namespace or "") if rt.namespaced else "", name))

    def iter_raw(self, rt: ResourceType, namespace: str | None = None) -> Iterator[Obj]:
        """Stored objects without copying (controllers must not mutate them)."""
        bucket = self._objects.get(rt.key)
        if not bucket:
            return iter(())
        if namespace is None:
            return iter(bucket.values())
        return (obj for (ns, _), obj in bucket.items() if ns == namespace)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        copy_items: bool = True,
    ) -> ListResult:
        """The matching objects in key order; copies of them (``copy_items=False``: the stored
        objects as ``rt``'s version, read only)."""
        match = selectors.combine(selectors.label_matcher(label_selector), selectors.field_matcher(field_selector))
        start_after: tuple[str, str] | None = None
        list_rv = self._rv
        if continue_token:
            try:
                raw = orjson.loads(base64.urlsafe_b64decode(continue_token.encode()))
                start_after, list_rv = (raw["ns"], raw["name"]), int(raw["rv"])
            except (ValueError, KeyError, TypeError) as exc:
                raise errors.bad_request(f"invalid continue token: {continue_token}") from exc
        keys = sorted(self._bucket(rt))
        items: list[Obj] = []
        remaining = 0
        last: tuple[str, str] | None = None
        for key in keys:
            if namespace and rt.namespaced and key[0] != namespace:
                continue
            if start_after is not None and key <= start_after:
                continue
            obj = self._bucket(rt)[key]
            if match is not None and not match(obj):
                continue
            if limit and len(items) >= limit:
                remaining += 1
                continue
            items.append(self._as_version(rt, obj) if copy_items else self._view(rt, obj))
            last = key
        token = ""
        if remaining and last is not None:
            token = base64.urlsafe_b64encode(orjson.dumps({"ns": last[0], "name": last[1], "rv": list_rv})).decode()
        return ListResult(items, list_rv, token, remaining if token else None)

    # -- writes -----------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        obj: Obj,
        *,
        dry_run: bool = False,
        copy_result: bool = True,
        copy_input: bool = True,
    ) -> Obj:
        """Store a new object; returns a copy of it (``copy_result=False``: the stored object, read only).

        ``copy_input=False``: the caller hands ``obj`` over (it is stored without a deep copy and
        must never be changed again; it may share values with stored objects).
        """
        # Admission hooks may edit anything in the new object, so they always get a private copy.
        obj = clone(obj) if copy_input or rt.key in self._admission else _shallow(obj)
        meta = obj.setdefault("metadata", {})
        ns = self._ns(rt, namespace or meta.get("namespace"))
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = ns
            self._check_namespace(rt, ns)
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
        name = meta.get("name")
        if not name:
            raise errors.invalid(
                rt.kind,
                rt.group,
                "",
                [
                    errors.StatusCause(
                        "FieldValueRequired", "Required value: name or generateName is required", "metadata.name"
                    )
                ],
            )
        if (ns, name) in self._bucket(rt):
            raise errors.already_exists(rt.plural, rt.group, name)
        if rt.status_subresource:
            # The status of an object is its controller's to write, never its creator's.
            obj.pop("status", None)
        if rt.key == NAMESPACE_KEY:
            # The namespace strategy's PrepareForCreate: a new namespace is Active.
            obj["status"] = {"phase": "Active"}
        self._admit(rt, "CREATE", obj, None)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = self.clock.timestamp()
        meta["generation"] = 1
        meta.pop("deletionTimestamp", None)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if dry_run:
            meta["resourceVersion"] = str(self._rv)
            return obj
        meta["resourceVersion"] = str(self._next_rv())
        self._bucket(rt)[(ns, name)] = obj
        self._record(rt, ns, "ADDED", None, obj)
        return clone(obj) if copy_result else obj

    def replace_status(self, rt: ResourceType, namespace: str | None, name: str, obj: Obj, status: Obj) -> Obj:
        """A controller's status write: ``obj`` (as it read it) with ``status``, both handed over.

        Returns the stored object, read only.
        """
        ns = self._ns(rt, namespace)
        bucket = self._bucket(rt)
        current = bucket.get((ns, name))
        meta = obj.get("metadata") or {}
        if (
            current is None
            or rt.key in self._admission
            or meta.get("name", name) != name
            or status is None
            or current.get("apiVersion") != rt.api_version
        ):
            # Hooks, another version, or an error to report: the general path does what update does.
            full = {**obj, "status": status}
            return self.update(rt, namespace, name, full, subresource="status", copy_result=False, copy_input=False)
        # What update does for a status write, without its general bookkeeping (a controller's
        # status write is a third of all writes): only the status and managedFields change.
        cur_meta = current["metadata"]
        sent_rv = meta.get("resourceVersion")
        if sent_rv and str(sent_rv) != cur_meta["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)
        managed = meta["managedFields"] if "managedFields" in meta else cur_meta.get("managedFields", _MISSING)
        same_managed = managed is cur_meta.get("managedFields", _MISSING) or managed == cur_meta.get(
            "managedFields", _MISSING
        )
        old_status = current.get("status", _MISSING)
        if same_managed and (old_status is status or old_status == status):
            return current  # a no-op write does not bump the resource version
        new = _shallow(current)
        new["status"] = status
        new_meta = new["metadata"]
        if managed is not _MISSING:
            new_meta["managedFields"] = managed
        new_meta["resourceVersion"] = str(self._next_rv())
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            return self._remove(rt, ns, name, new)
        bucket[(ns, name)] = new
        self._record(rt, ns, "MODIFIED", current, new)
        return new

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        obj: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        copy_result: bool = True,
        copy_input: bool = True,
    ) -> Obj:
        """Replace an object (PUT semantics) with optimistic concurrency on ``resourceVersion``.

        Returns a copy of the stored object (``copy_result=False``: the stored object, read only).
        ``copy_input=False``: the caller hands ``obj`` over, as for :meth:`create`.
        """
        ns = self._ns(rt, namespace)
        bucket = self._bucket(rt)
        current = bucket.get((ns, name))
        if current is None:
            raise errors.not_found(rt.plural, rt.group, name)
        # Without admission hooks (which may edit anything in ``new``) the new version shares
        # what it keeps from the stored one: stored objects are never changed in place.
        private = rt.key in self._admission
        new: Obj
        if subresource == "status":
            # A status write takes only the status (and managedFields) from the request.
            new = {"metadata": dict(obj.get("metadata") or {})}
        else:
            new = clone(obj) if copy_input or private else _shallow(obj)
        meta = new.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        sent_rv = meta.get("resourceVersion")
        cur_meta = current["metadata"]
        if sent_rv and str(sent_rv) != cur_meta["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)
        if subresource == "status":
            merged = clone(current) if private else _shallow(current)
            status = obj.get("status")
            if status is not None:
                merged["status"] = clone(status) if copy_input else status
            else:
                merged.pop("status", None)
            if "managedFields" in meta:
                # As the status strategy does: managedFields were updated to track this status write.
                managed = meta["managedFields"]
                merged["metadata"]["managedFields"] = clone({"m": managed})["m"] if copy_input else managed
            new = merged
        elif rt.status_subresource:
            if "status" in current:
                new["status"] = clone(current["status"]) if private else current["status"]
            else:
                new.pop("status", None)
        meta = new.setdefault("metadata", {})
        for keep in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if keep in cur_meta:
                meta[keep] = cur_meta[keep]
            else:
                meta.pop(keep, None)
        meta["name"] = name
        if rt.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        self._admit(rt, "UPDATE", new, current)
        generation = int(cur_meta.get("generation", 1))
        spec_changed = subresource is None and not _same_except(new, current, _SPEC_SKIP)
        if spec_changed:
            generation += 1
        meta["generation"] = generation
        if dry_run:
            meta["resourceVersion"] = cur_meta["resourceVersion"]
            return clone(new) if copy_result else new
        unchanged = (
            not spec_changed and _same_except(new, current, _BODY_SKIP) and _same_except(meta, cur_meta, _META_SKIP)
        )
        if unchanged and meta.get("managedFields") == cur_meta.get("managedFields"):
            # A no-op write does not bump the resource version (the apiserver skips it too).
            return self._as_version(rt, current) if copy_result else current
        meta["resourceVersion"] = str(self._next_rv())
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._remove(rt, ns, name, new)
        bucket[(ns, name)] = new
        self._record(rt, ns, "MODIFIED", current, new)
        return clone(new) if copy_result else new

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
        propagation: str = "Background",
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Delete, honouring finalizers; returns (object, whether it is gone now)."""
        ns = self._ns(rt, namespace)
        current = self._bucket(rt).get((ns, name))
        if current is None:
            raise errors.not_found(rt.plural, rt.group, name)
        meta = current["metadata"]
        if uid and uid != meta["uid"]:
            raise errors.ApiError(
                409,
                "Conflict",
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: {meta['uid']}",
                rt.group,
                rt.plural,
                name,
            )
        if resource_version and resource_version != meta["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)
        self._admit(rt, "DELETE", current, current)
        if dry_run:
            return self._as_version(rt, current), not meta.get("finalizers")
        if rt.key == NAMESPACE_KEY:
            return self._delete_namespace(rt, name, current), True
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return self._as_version(rt, current), False
            marked = _shallow(current)
            marked["metadata"]["deletionTimestamp"] = self.clock.timestamp()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            marked["metadata"]["resourceVersion"] = str(self._next_rv())
            self._bucket(rt)[(ns, name)] = marked
            self._record(rt, ns, "MODIFIED", current, marked)
            return clone(marked), False
        gone = _shallow(current)
        gone["metadata"]["resourceVersion"] = str(self._next_rv())
        out = self._remove(rt, ns, name, gone)
        if propagation != "Orphan":
            self._collect_dependents(gone["metadata"]["uid"])
        return out, True

    def _remove(self, rt: ResourceType, ns: str, name: str, final: Obj) -> Obj:
        previous = self._bucket(rt).pop((ns, name), None)
        self._record(rt, ns, "DELETED", previous, final)
        return self._as_version(rt, final)

    def _collect_dependents(self, owner_uid: str) -> None:
        """Background garbage collection: delete objects owned by ``owner_uid``."""
        for key, bucket in list(self._objects.items()):
            for (ns, name), obj in list(bucket.items()):
                refs = (obj.get("metadata") or {}).get("ownerReferences") or []
                if any(r.get("uid") == owner_uid for r in refs):
                    rt = self.registry.by_key(key)
                    try:
                        self.delete(rt, ns or None, name)
                    except errors.ApiError:
                        continue

    def _delete_namespace(self, rt: ResourceType, name: str, current: Obj) -> Obj:
        for key, bucket in list(self._objects.items()):
            if key == NAMESPACE_KEY:
                continue
            for ns, obj_name in [k for k in bucket if k[0] == name]:
                try:
                    self.delete(self.registry.by_key(key), ns, obj_name)
                except errors.ApiError:
                    continue
        gone = _shallow(current)
        gone["metadata"]["resourceVersion"] = str(self._next_rv())
        return self._remove(rt, "", name, gone)

    # -- watch ------------------------------------------------------------------------------

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        bookmarks: bool = False,
    ) -> Subscription:
        """Subscribe to changes after ``resource_version`` ("" or "0": current state first).

        Raises:
            ApiError: 410 Gone when ``resource_version`` is older than the kept history.
        """
        match = selectors.combine(selectors.label_matcher(label_selector), selectors.field_matcher(field_selector))
        ns = namespace if rt.namespaced and namespace else None

        def bookmark() -> Obj:
            return {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"resourceVersion": str(self._rv)}}

        sub = Subscription(
            key=rt.key,
            namespace=ns,
            matcher=match,
            bookmark=bookmark if bookmarks else None,
            bookmark_interval=self.bookmark_interval,
            on_close=self._unsubscribe,
        )
        if not resource_version or resource_version == "0":
            listed = self.list(rt, ns, label_selector=label_selector, field_selector=field_selector, copy_items=False)
            for obj in listed.items:
                sub.put_initial(WatchEvent("ADDED", obj, int(obj["metadata"]["resourceVersion"])))
        else:
            try:
                since = int(resource_version)
            except ValueError as exc:
                raise errors.bad_request(f"invalid resource version: {resource_version}") from exc
            oldest = self._history[0].resource_version if self._history else self._rv + 1
            if since < oldest - 1 and since < self._rv:
                raise errors.gone(f"too old resource version: {since} ({oldest - 1})")
            for change in self._history:
                if change.resource_version > since:
                    sub.offer(change)
        self._subs.setdefault(rt.key, set()).add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        self._subs.get(sub.key, set()).discard(sub)

    def watchers(self) -> int:
        return sum(len(subs) for subs in self._subs.values())
