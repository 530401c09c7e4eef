"""What the batch area needs from the member clusters, as a Protocol the domain owns.

:class:`kurator_apps.adapters.volcano.VolcanoMembers` implements it through Karmada's cluster
proxy; domain tests can use a fake. Objects are plain dicts as the API serves them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

RawObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class MemberState:
    """What one member cluster holds now: everything a gang-fit decision reads."""

    cluster: str
    nodes: Sequence[RawObject]
    pods: Sequence[RawObject]
    jobs: Sequence[RawObject]
    """Every Volcano ``Job`` on the member (ours or not)."""
    queues: Mapping[str, RawObject]
    """Volcano ``Queue`` objects by name."""


@dataclass(frozen=True, slots=True)
class MemberEvent:
    """A change to a Volcano ``Job`` or ``PodGroup`` we wrote (or Volcano made for it) on ``cluster``."""

    cluster: str
    kind: str
    """``Job`` or ``PodGroup``."""
    type: str
    """``ADDED``, ``MODIFIED``, ``DELETED``; ``SYNCED`` once a (re-)list has been delivered."""
    object: RawObject


class Members(Protocol):
    async def ready_clusters(self) -> list[str]:
        """The member clusters Karmada reports ``Ready``, by name."""
        ...

    async def failing_clusters(self) -> dict[str, str]:
        """The member clusters Karmada has tainted ``NoExecute`` as failing (``not-ready`` or
        ``unreachable``): name -> the taint's key."""
        ...

    async def state(self, cluster: str) -> MemberState:
        """Nodes, pods, Volcano jobs and queues of ``cluster`` (raises ``shared.k8s.errors`` types)."""
        ...

    async def apply_namespace(self, cluster: str, name: str) -> None: ...

    async def apply_queue(self, cluster: str, body: Mapping[str, Any]) -> RawObject: ...

    async def find_queue(self, cluster: str, name: str) -> RawObject | None: ...

    async def delete_queue(self, cluster: str, name: str) -> bool: ...

    async def apply_job(self, cluster: str, body: Mapping[str, Any]) -> RawObject: ...

    async def find_job(self, cluster: str, namespace: str, name: str) -> RawObject | None: ...

    async def delete_job(self, cluster: str, namespace: str, name: str) -> bool:
        """``False`` when it was already gone."""
        ...

    def follow(self, cluster: str) -> AsyncIterator[MemberEvent]:
        """The ``Job``/``PodGroup`` changes of ``cluster`` carrying our label, forever."""
        ...
