"""This area's part of the apps service (see :mod:`kurator_apps.extensions`): Volcano gang jobs.

* ``volcanojob`` (``batch.volcano.sh`` ``Job``): validated by its contract model (Volcano's
  webhook rules), placed whole on one member (:mod:`.placing`), or left ``Waiting`` with the
  shortfall per member until capacity appears;
* ``volcanoqueue`` (``scheduling.volcano.sh`` ``Queue``): recorded, and written wherever it
  exists or a job needs it (:mod:`.handlers`);
* background (one replica): following the jobs on their members, re-checking waiting ones
  and moving jobs off failing members (:mod:`.follow`).

Without Kubernetes (no ``KURATOR_KUBECONFIG``) nothing is wired: the runtime records the
desired state and answers ``Accepted``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from kurator_apps.adapters import volcano
from kurator_apps.batch import claims, follow, handlers, placing
from shared.runtime.extensions import Background, Extensions, ServiceContext


def _closing(members: volcano.VolcanoMembers) -> Background:
    """Work that only waits, so that stopping the service closes the member clients (their pools)."""

    async def hold() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await members.close()

    return Background("volcano-members", hold, singleton=False)


def build(context: ServiceContext, *, eviction: timedelta | None = None) -> Extensions:
    """``eviction``: see :data:`follow.EVICTION`; default ``KURATOR_VOLCANO_EVICTION_SECONDS``."""
    if eviction is None:
        seconds = getattr(context.settings, "volcano_eviction_seconds", None)
        eviction = timedelta(seconds=seconds) if isinstance(seconds, int | float) else follow.EVICTION
    if context.kube is None:
        return Extensions()
    members = volcano.VolcanoMembers(context.kube)
    placer = placing.Placer(
        members=members,
        js=context.js,
        desired=context.desired,
        publisher=context.publisher,
        claims=claims.Claims(context.js, replicas=context.settings.stream_replicas),
    )
    follower = follow.Follower(placer=placer, desired=context.desired, js=context.js, eviction=eviction)
    return Extensions(
        handlers={
            placing.JOB: handlers.JobHandler(placer),
            placing.QUEUE: handlers.QueueHandler(members),
        },
        background=(Background("volcano-jobs", follower.run), _closing(members)),
    )
