"""Karmada's placement engine (v1.16+ semantics), as pure code: no I/O, no clock, no randomness.

``schedule(ScheduleRequest) -> ScheduleResult`` decides a binding's ``spec.clusters`` exactly as
``karmada-scheduler`` would (``shared/docs/karmada-placement-spec.md``), and says why every
other cluster was left out; it raises :class:`NoFit` with Karmada's condition reason and
message when nothing can be placed. The simulator's scheduler, the fleet service and
``kurator plan`` all call it.

Modules, by stage: :mod:`.views` (cluster facts, fleet snapshots), :mod:`.selectors` (affinity,
label and field selectors, tolerations), :mod:`.filters`, :mod:`.estimate` (capacity),
:mod:`.spread` and :mod:`.groups` (candidate selection), :mod:`.assign` and :mod:`.webster`
(replica division), :mod:`.generic` (one pass), :mod:`.api` (failover groups); around them
:mod:`.strategy` (reading a placement), :mod:`.resources` (quantities), :mod:`.workload`
(what a workload asks for) and :mod:`.plan` (the ``kurator plan`` operation).
"""

from __future__ import annotations

from shared.placement.api import ScheduleRequest, ScheduleResult, schedule
from shared.placement.errors import NO_CLUSTER_FIT, SCHEDULER_ERROR, UNSCHEDULABLE, NoFit
from shared.placement.views import Snapshot, snapshot

__all__ = [
    "NO_CLUSTER_FIT",
    "SCHEDULER_ERROR",
    "UNSCHEDULABLE",
    "NoFit",
    "ScheduleRequest",
    "ScheduleResult",
    "Snapshot",
    "schedule",
    "snapshot",
]
