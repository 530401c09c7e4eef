"""The labels that say who asked for an object the fleet service writes, and reading them back.

Everything written on someone's behalf (a Propagation's templates and policies, an
AttachedCluster's Karmada ``Cluster`` and join Secret) carries
``kurator.dev/owner-{service,kind,namespace,name}``; a Propagation's objects also carry
``kurator.dev/propagation`` and ``kurator.dev/propagation-namespace``. They make ownership
checkable: an object held for someone else is refused instead of silently taken over, and
cleanup deletes only what it wrote.

Label values are at most 63 characters from a small alphabet; a longer value (an owner name
may be a 253-character subdomain) is cut and suffixed with a hash of the whole, so it stays
unique and comparable.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import Any, Final

from shared.contracts import validation

OWNER_SERVICE: Final = "kurator.dev/owner-service"
OWNER_KIND: Final = "kurator.dev/owner-kind"
OWNER_NAMESPACE: Final = "kurator.dev/owner-namespace"
OWNER_NAME: Final = "kurator.dev/owner-name"
PROPAGATION: Final = "kurator.dev/propagation"
PROPAGATION_NAMESPACE: Final = "kurator.dev/propagation-namespace"
MANAGED_BY: Final = "app.kubernetes.io/managed-by"
MANAGER: Final = "kurator-fleet"


@functools.lru_cache(maxsize=4096)
def label_value(value: str) -> str:
    """``value`` if it is a valid label value, else a valid one derived from it (cut + hash).

    Cached: the same owners and Propagations are labelled again on every apply."""
    if validation.label_value_error(value) is None:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:10]
    head = "".join(c if c.isalnum() or c in "-_." else "-" for c in value)[:52].strip("-_.")
    return f"{head}-{digest}" if head else digest


def owner_labels(*, service: str, kind: str, namespace: str | None, name: str) -> dict[str, str]:
    labels = {
        MANAGED_BY: MANAGER,
        OWNER_SERVICE: label_value(service),
        OWNER_KIND: label_value(kind),
        OWNER_NAME: label_value(name),
    }
    if namespace:
        labels[OWNER_NAMESPACE] = label_value(namespace)
    return labels


def propagation_labels(*, namespace: str, name: str) -> dict[str, str]:
    return {PROPAGATION: label_value(name), PROPAGATION_NAMESPACE: label_value(namespace)}


def labels_of(obj: Mapping[str, Any] | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


def held_by_other(obj: Mapping[str, Any] | None, expected: Mapping[str, str]) -> str | None:
    """Who else holds ``obj`` when it carries some ``expected`` label key with another value.

    An object without those labels is held by no one we know of (``None``): it may be adopted.
    """
    labels = labels_of(obj)
    theirs = {k: labels[k] for k in expected if k in labels}
    if not theirs or all(theirs.get(k) == v for k, v in expected.items() if k in theirs):
        return None
    return ", ".join(f"{k}={v}" for k, v in sorted(theirs.items()))
